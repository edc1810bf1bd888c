//! Attached documents: only PDF, ODT and DOCX, recognised by their content
//! (magic bytes), not by the name or the type the browser claims.

use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Pdf,
    Odt,
    Docx,
}

impl DocumentKind {
    pub fn media_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Odt => "application/vnd.oasis.opendocument.text",
            DocumentKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Odt => "odt",
            DocumentKind::Docx => "docx",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "PDF",
            DocumentKind::Odt => "ODT",
            DocumentKind::Docx => "DOCX",
        }
    }
    pub fn from_media_type(s: &str) -> Option<Self> {
        [DocumentKind::Pdf, DocumentKind::Odt, DocumentKind::Docx]
            .into_iter()
            .find(|k| k.media_type() == s)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What the bytes are, if one of the accepted kinds.
pub fn sniff(bytes: &[u8]) -> Option<DocumentKind> {
    if bytes.starts_with(b"%PDF-") {
        return Some(DocumentKind::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        // OpenDocument: the first entry is an uncompressed `mimetype` file.
        if bytes.len() > 38 && &bytes[30..38] == b"mimetype" {
            let rest = &bytes[38..bytes.len().min(38 + 60)];
            if rest.starts_with(b"application/vnd.oasis.opendocument.text") {
                return Some(DocumentKind::Odt);
            }
            return None;
        }
        // Office Open XML: the central directory names word/document.xml.
        let tail = &bytes[bytes.len().saturating_sub(64 * 1024)..];
        if contains(tail, b"[Content_Types].xml") && contains(tail, b"word/document.xml") {
            return Some(DocumentKind::Docx);
        }
    }
    None
}

/// Check an uploaded file: not empty, not over `max_bytes`, a PDF, ODT or
/// DOCX whose name ends with the matching extension.
pub fn check(file_name: &str, bytes: &[u8], max_bytes: usize) -> Result<DocumentKind, Invalid> {
    if bytes.is_empty() {
        return Err(Invalid::new("Fichier : le fichier est vide"));
    }
    if bytes.len() > max_bytes {
        return Err(Invalid::new(format!(
            "Fichier : {} Mo, c'est trop (au plus {} Mo)",
            bytes.len().div_ceil(1024 * 1024),
            max_bytes / (1024 * 1024)
        )));
    }
    let Some(kind) = sniff(bytes) else {
        return Err(Invalid::new(format!(
            "Fichier : « {file_name} » n'est ni un PDF, ni un document ODT ou DOCX"
        )));
    };
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    if ext.as_deref() != Some(kind.extension()) {
        return Err(Invalid::new(format!(
            "Fichier : « {file_name} » est un {} mais son nom ne finit pas par .{}",
            kind.label(),
            kind.extension()
        )));
    }
    Ok(kind)
}

/// A file name safe to send back in `Content-Disposition`.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let s: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if s.trim().is_empty() {
        "document".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn odt() -> Vec<u8> {
        let mut v = b"PK\x03\x04".to_vec();
        v.resize(30, 0);
        v.extend_from_slice(b"mimetypeapplication/vnd.oasis.opendocument.text");
        v.extend_from_slice(&[0; 100]);
        v
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(DocumentKind::Pdf));
        assert_eq!(sniff(&odt()), Some(DocumentKind::Odt));
        let mut docx = b"PK\x03\x04....".to_vec();
        docx.extend_from_slice(b"....[Content_Types].xml....word/document.xml....");
        assert_eq!(sniff(&docx), Some(DocumentKind::Docx));
        assert_eq!(sniff(b"PK\x03\x04 a plain zip"), None);
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"MZ\x90\x00"), None);
    }

    #[test]
    fn checks() {
        assert_eq!(
            check("bilan.pdf", b"%PDF-1.4", 1024).unwrap(),
            DocumentKind::Pdf
        );
        assert!(check("bilan.PDF", b"%PDF-1.4", 1024).is_ok());
        assert!(check("bilan.docx", b"%PDF-1.4", 1024)
            .unwrap_err()
            .0
            .contains(".pdf"));
        assert!(check("virus.exe", b"MZ", 1024).is_err());
        assert!(check("gros.pdf", &[b'%'; 2048], 1024).is_err());
        assert!(check("vide.pdf", b"", 1024).is_err());
        assert_eq!(safe_file_name("../../etc/pa\"ss wd.pdf"), "pa_ss wd.pdf");
    }
}
