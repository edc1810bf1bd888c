//! Charts as PNG for the formats that cannot hold SVG (DOCX, ODT): the SVG
//! from `web::contract::charts` drawn by resvg, text in DejaVu Sans.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use super::RenderError;

/// The font every chart's text falls back to (the charts name none).
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// The largest side of a PNG, in pixels: a chart is a few hundred.
const MAX_SIDE: u32 = 8_000;

/// The system's fonts, read once per process (a few milliseconds, then
/// shared by every chart).
fn fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = fontdb::Database::new();
            db.load_system_fonts();
            db.set_sans_serif_family(FONT_FAMILY);
            Arc::new(db)
        })
        .clone()
}

/// Draw `svg` at `scale` (1.0: one pixel per SVG unit) on a white
/// background and encode it as PNG.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, RenderError> {
    let opt = usvg::Options {
        font_family: FONT_FAMILY.to_owned(),
        languages: vec!["fr".to_owned()],
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| RenderError::Svg(e.to_string()))?;
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let size = tree.size();
    let side = |v: f32| {
        let px = (v * scale).ceil();
        if px.is_finite() && px >= 1.0 && px <= MAX_SIDE as f32 {
            Some(px as u32)
        } else {
            None
        }
    };
    let (w, h) = match (side(size.width()), side(size.height())) {
        (Some(w), Some(h)) => (w, h),
        _ => {
            return Err(RenderError::ImageSize(
                (size.width() * scale) as u32,
                (size.height() * scale) as u32,
            ))
        }
    };
    let mut pixmap = Pixmap::new(w, h).ok_or(RenderError::ImageSize(w, h))?;
    pixmap.fill(Color::WHITE);
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Png(e.to_string()))
}

/// A PNG's size in pixels, read from its header.
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&png[16..20]), be(&png[20..24])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_svg_and_empty_svg_are_errors_not_panics() {
        assert!(matches!(svg_to_png("", 1.0), Err(RenderError::Svg(_))));
        assert!(svg_to_png("<svg", 1.0).is_err());
        let zero = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\"/>";
        assert!(svg_to_png(zero, 1.0).is_err());
        let huge = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"10\"/>";
        assert!(matches!(
            svg_to_png(huge, 1.0),
            Err(RenderError::ImageSize(..))
        ));
    }

    #[test]
    fn size_follows_the_scale() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"10\"><rect width=\"40\" height=\"10\" fill=\"#000\"/></svg>";
        let png = svg_to_png(svg, 2.0).unwrap();
        assert_eq!(png_size(&png), Some((80, 20)));
        // A nonsense scale draws at 1:1.
        assert_eq!(
            png_size(&svg_to_png(svg, f32::NAN).unwrap()),
            Some((40, 10))
        );
        assert_eq!(png_size(b"GIF89a"), None);
    }
}
