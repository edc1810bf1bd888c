//! Splitting one line of a delimited file into fields, with CSV quoting,
//! for files read line by line (FINESS etalab mixes two record kinds of
//! different widths, and reports each bad line by its number).
//!
//! `csv::ReaderBuilder` builds its parsing automaton on every `from_reader`:
//! built per line, that was a third of a national FINESS import. The
//! automaton is built once here (`csv_core`, the parser under `csv`) and
//! reset for each line.

/// A reusable splitter for one delimiter.
pub struct FieldSplitter {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl FieldSplitter {
    pub fn new(delimiter: u8) -> Self {
        Self {
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: vec![0; 1024],
            ends: vec![0; 64],
        }
    }

    /// The fields of `line` (without its line break), unquoted as CSV says:
    /// `"a;b"` is one field, `""` inside quotes is one quote. A quote left
    /// open takes the rest of the line, as the `csv` crate does.
    pub fn split<'a>(&'a mut self, line: &str) -> Fields<'a> {
        self.core.reset();
        let mut input = line.as_bytes();
        let (mut nout, mut nend) = (0, 0);
        loop {
            let (result, nin, o, e) =
                self.core
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match result {
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.out.len();
                    self.out.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                // The line is all read: an empty input says it ended.
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        Fields {
            out: &self.out[..nout],
            ends: &self.ends[..nend],
        }
    }
}

/// The fields of one line, borrowed from its [`FieldSplitter`].
pub struct Fields<'a> {
    out: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Fields<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `k`, or `None` past the last. Fields are cut at ASCII
    /// delimiters and quotes of a `&str`, so each is valid UTF-8.
    pub fn get(&self, k: usize) -> Option<&'a str> {
        let end = *self.ends.get(k)?;
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        std::str::from_utf8(&self.out[start..end]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &mut FieldSplitter, line: &str) -> Vec<String> {
        let f = s.split(line);
        (0..f.len()).map(|k| f.get(k).unwrap().to_owned()).collect()
    }

    #[test]
    fn splits_and_unquotes_like_the_csv_crate() {
        let mut s = FieldSplitter::new(b';');
        let lines = [
            "structureet;010000024;\"CH; LONG\";;É à ç;\"dit \"\"le grand\"\"\";",
            "a;b",
            ";",
            "seul",
            "\"ouvert;jamais;fermé",
            "x;\"\";y",
        ];
        for line in lines {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(b';')
                .has_headers(false)
                .flexible(true)
                .from_reader(line.as_bytes());
            let record = reader.records().next().unwrap().unwrap();
            let expected: Vec<String> = record.iter().map(str::to_owned).collect();
            assert_eq!(all(&mut s, line), expected, "{line}");
        }
        // Reused after a long line, the buffers grew and still split right.
        let long = format!("{};{}", "é".repeat(3000), "b;".repeat(200));
        assert_eq!(all(&mut s, &long).len(), 202);
        assert_eq!(all(&mut s, "a;b"), ["a", "b"]);
        assert!(s.split("a;b").get(2).is_none());
    }
}
