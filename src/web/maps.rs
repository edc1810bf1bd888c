//! Choropleth maps drawn on the server as SVG from the communes' simplified
//! outlines (GeoJSON geometries in WGS84). No script, no tiles: the map is
//! part of the page, prints, and works offline. Every area carries a
//! `<title>` (name and value), the legend is in words, and pages show the
//! same figures in a table below the map.

use std::fmt::Write;

use crate::web::contract::charts::esc;

/// One ring of a polygon: (longitude, latitude) points.
type Ring = Vec<(f64, f64)>;

/// An outline: polygons, each an outer ring then its holes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outline(pub Vec<Vec<Ring>>);

impl Outline {
    /// Read a GeoJSON `Polygon` or `MultiPolygon` geometry; `None` for
    /// anything else (the importer has checked the outlines it stored).
    pub fn from_geojson(text: &str) -> Option<Outline> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let coords = v.get("coordinates")?;
        let ring = |r: &serde_json::Value| -> Option<Ring> {
            r.as_array()?
                .iter()
                .map(|p| {
                    let p = p.as_array()?;
                    Some((p.first()?.as_f64()?, p.get(1)?.as_f64()?))
                })
                .collect()
        };
        let polygon = |p: &serde_json::Value| -> Option<Vec<Ring>> {
            p.as_array()?.iter().map(ring).collect()
        };
        let polygons = match v.get("type")?.as_str()? {
            "Polygon" => vec![polygon(coords)?],
            "MultiPolygon" => coords
                .as_array()?
                .iter()
                .map(polygon)
                .collect::<Option<Vec<_>>>()?,
            _ => return None,
        };
        Some(Outline(polygons))
    }

    /// Several outlines dissolved into one (a territory's outer border):
    /// the union of their polygons. Communes simplified one by one may
    /// leave thin gaps between them, which stay as tiny holes.
    pub fn dissolve(outlines: &[Outline]) -> Outline {
        use geo::{Coord, LineString, Polygon};
        let ring = |r: &Ring| LineString::new(r.iter().map(|&(x, y)| Coord { x, y }).collect());
        let polygons: Vec<Polygon<f64>> = outlines
            .iter()
            .flat_map(|o| o.0.iter())
            .filter(|p| !p.is_empty())
            .map(|p| Polygon::new(ring(&p[0]), p[1..].iter().map(ring).collect()))
            .collect();
        let union = geo::unary_union(polygons.iter());
        // Gaps thinner than the simplification (slivers between communes
        // simplified one by one) are not holes of the territory.
        const SLIVER: f64 = 5e-5; // square degrees, about 0.3 km² at 50° N
        let big = |r: &LineString<f64>| {
            use geo::Area;
            Polygon::new(r.clone(), vec![]).unsigned_area() >= SLIVER
        };
        Outline(
            union
                .0
                .iter()
                .map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors().iter().filter(|r| big(r)))
                        .map(|r| r.coords().map(|c| (c.x, c.y)).collect())
                        .collect()
                })
                .collect(),
        )
    }

    fn points(&self) -> impl Iterator<Item = &(f64, f64)> {
        self.0.iter().flatten().flatten()
    }
}

/// A class of the legend: its words and its fill colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    pub label: String,
    pub fill: &'static str,
}

/// An area of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub outline: Outline,
    /// Index in the map's classes; `None`: no value (hatched).
    pub class: Option<usize>,
    /// The value in words, for the area's `<title>`.
    pub value: String,
    /// Drawn with a thick border (a flagged commune).
    pub marked: bool,
}

/// Sequential blues, light to dark, distinguishable in grey print and by
/// people with colour-vision deficiencies (ColorBrewer « Blues »).
pub const BLUES: [&str; 5] = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];

/// A map of areas coloured by class, with the context (neighbouring areas)
/// in light grey.
#[derive(Debug, Clone, Default)]
pub struct Choropleth {
    /// Unique within the page.
    pub id: String,
    pub title: String,
    pub classes: Vec<Class>,
    pub areas: Vec<Area>,
    pub context: Vec<Outline>,
    /// The legend's words for a marked area, if any is marked.
    pub marked_label: String,
}

const WIDTH: f64 = 640.0;

/// Shortest segment drawn, in pixels of the 640-wide drawing.
const MIN_STEP: f64 = 1.5;

/// The same for the maps of groups (a région's communes).
const REGION_MIN_STEP: f64 = 3.0;

impl Choropleth {
    /// Class bounds: `n` classes of (nearly) equal counts over `values`
    /// (quantiles); fewer when values repeat. Returns the upper bounds.
    pub fn quantile_bounds(values: &[f64], n: usize) -> Vec<f64> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() || n == 0 {
            return Vec::new();
        }
        v.sort_by(f64::total_cmp);
        let mut bounds: Vec<f64> = (1..=n)
            .map(|k| v[((k * v.len()).div_ceil(n)).clamp(1, v.len()) - 1])
            .collect();
        bounds.dedup_by(|a, b| a == b);
        bounds
    }

    /// The class of `value` for upper `bounds` (from [`Self::quantile_bounds`]).
    pub fn class_of(bounds: &[f64], value: f64) -> usize {
        bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(bounds.len().saturating_sub(1))
    }

    /// The SVG, or an empty string when no area has an outline.
    pub fn svg(&self) -> String {
        // The frame follows the areas; the context is clipped to it.
        let Some(frame) = Frame::around(self.areas.iter().map(|a| &a.outline)) else {
            return String::new();
        };
        let id = esc(&self.id);
        let mut s = frame.open(&id, &self.title);
        let context: String = self
            .context
            .iter()
            .filter(|o| frame.touches(o))
            .map(|o| frame.path(o))
            .collect();
        if !context.is_empty() {
            let _ = write!(
                s,
                "<path clip-path=\"url(#{id}-c)\" fill=\"#f2f2f2\" stroke=\"#c8c8c8\" stroke-width=\"0.6\" aria-hidden=\"true\" d=\"{context}\"/>"
            );
        }
        s.push_str("<g stroke=\"#3a3a3a\" stroke-width=\"0.8\" stroke-linejoin=\"round\">");
        for a in &self.areas {
            let fill = match a.class.and_then(|c| self.classes.get(c)) {
                Some(c) => c.fill.to_owned(),
                None => format!("url(#{id}-nd)"),
            };
            let _ = write!(
                s,
                "<path d=\"{}\" fill=\"{fill}\"{}><title>{} : {}</title></path>",
                frame.path(&a.outline),
                if a.marked {
                    " stroke=\"#b60000\" stroke-width=\"2.4\""
                } else {
                    ""
                },
                esc(&a.name),
                esc(&a.value)
            );
        }
        s.push_str("</g></svg>");
        s
    }

    /// The legend as an HTML list (words and swatches).
    pub fn legend(&self) -> String {
        let mut s = String::from("<ul class=\"map-legend\">");
        for c in &self.classes {
            let _ = write!(
                s,
                "<li><svg class=\"swatch\" viewBox=\"0 0 20 20\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"18\" height=\"18\" fill=\"{}\" stroke=\"#3a3a3a\"/></svg>{}</li>",
                c.fill,
                esc(&c.label)
            );
        }
        if self.areas.iter().any(|a| a.class.is_none()) {
            s.push_str("<li><span class=\"swatch swatch-none\" aria-hidden=\"true\"></span>pas de valeur (hachuré)</li>");
        }
        if self.areas.iter().any(|a| a.marked) && !self.marked_label.is_empty() {
            let _ = write!(
                s,
                "<li><span class=\"swatch swatch-marked\" aria-hidden=\"true\"></span>{}</li>",
                esc(&self.marked_label)
            );
        }
        if !self.context.is_empty() {
            s.push_str("<li><span class=\"swatch swatch-context\" aria-hidden=\"true\"></span>communes voisines, hors territoire</li>");
        }
        s.push_str("</ul>");
        s
    }
}

/// The drawing's frame: an equirectangular projection at the frame's mean
/// latitude (fine at the scale of a territory or a region), 640 units wide.
pub struct Frame {
    lon0: f64,
    lat1: f64,
    k: f64,
    scale: f64,
    pub height: f64,
    /// Shortest segment drawn, in pixels.
    min_step: f64,
}

const PAD: f64 = 6.0;

impl Frame {
    /// The frame around some outlines, none when they hold no point.
    pub fn around<'a>(outlines: impl Iterator<Item = &'a Outline>) -> Option<Frame> {
        let (mut lon0, mut lat0, mut lon1, mut lat1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for o in outlines {
            for (lon, lat) in o.points() {
                lon0 = lon0.min(*lon);
                lon1 = lon1.max(*lon);
                lat0 = lat0.min(*lat);
                lat1 = lat1.max(*lat);
            }
        }
        if !lon0.is_finite() || lon1 <= lon0 || lat1 <= lat0 {
            return None;
        }
        let k = ((lat0 + lat1) / 2.0).to_radians().cos();
        let (w, h) = ((lon1 - lon0) * k, lat1 - lat0);
        let scale = (WIDTH - 2.0 * PAD) / w;
        Some(Frame {
            lon0,
            lat1,
            k,
            scale,
            height: (h * scale + 2.0 * PAD).ceil(),
            min_step: MIN_STEP,
        })
    }

    fn project(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.lon0) * self.k * self.scale + PAD,
            (self.lat1 - lat) * self.scale + PAD,
        )
    }

    /// The `<svg>` opening, its title, the hatch pattern (`{id}-nd`) and
    /// the clip to the frame (`{id}-c`).
    pub fn open(&self, id: &str, title: &str) -> String {
        let height = self.height;
        format!(
            "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
             role=\"img\" aria-labelledby=\"{id}-t\"><title id=\"{id}-t\">{}</title>\
             <defs><pattern id=\"{id}-nd\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
             patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#fff\"/>\
             <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#767676\" stroke-width=\"2\"/></pattern>\
             <clipPath id=\"{id}-c\"><rect width=\"{WIDTH}\" height=\"{height}\"/></clipPath></defs>",
            esc(title)
        )
    }

    /// An outline as path data: whole pixels, relative moves (`l-3 5`), a
    /// few bytes per point. Points closer than `MIN_STEP` pixels to the last
    /// one drawn add nothing visible at this scale and are left out.
    pub fn path(&self, o: &Outline) -> String {
        let mut d = String::new();
        for ring in o.0.iter().flatten() {
            let mut last: Option<(i64, i64)> = None;
            let mut drawn = 0;
            for (lon, lat) in ring {
                let (x, y) = self.project(*lon, *lat);
                let (x, y) = (x.round() as i64, y.round() as i64);
                match last {
                    None => {
                        let _ = write!(d, "M{x} {y}");
                    }
                    Some((lx, ly)) => {
                        let (dx, dy) = (x - lx, y - ly);
                        if ((dx * dx + dy * dy) as f64) < self.min_step * self.min_step {
                            continue;
                        }
                        let _ = write!(d, "l{dx} {dy}");
                    }
                }
                last = Some((x, y));
                drawn += 1;
            }
            if drawn > 0 {
                d.push('z');
            }
        }
        d
    }

    /// Whether an outline shows in the frame.
    pub fn touches(&self, o: &Outline) -> bool {
        let mut any = false;
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for (lon, lat) in o.points() {
            let (x, y) = self.project(*lon, *lat);
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
            any = true;
        }
        any && x1 >= 0.0 && y1 >= 0.0 && x0 <= WIDTH && y0 <= self.height
    }
}

/// A group of areas drawn as one path (a territory, or every commune of a
/// class): one element instead of one per commune keeps a region's map
/// small. The fill is also the stroke, so the borders inside a group do not
/// show.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group's `<title>` (name and what its colour says).
    pub title: String,
    /// A link (a territory's site), if any.
    pub href: Option<String>,
    /// Index in the map's classes; `None`: hatched (no value).
    pub class: Option<usize>,
    pub outlines: Vec<Outline>,
    /// Drawn over the others with a thick dark border (no fill).
    pub outlined: bool,
}

/// A map of groups over a grey background (the other communes).
#[derive(Debug, Clone, Default)]
pub struct GroupMap {
    pub id: String,
    pub title: String,
    pub classes: Vec<Class>,
    pub groups: Vec<Group>,
    pub background: Vec<Outline>,
}

impl GroupMap {
    /// The SVG, or an empty string when nothing has an outline.
    pub fn svg(&self) -> String {
        let all = self
            .groups
            .iter()
            .flat_map(|g| g.outlines.iter())
            .chain(self.background.iter());
        let Some(mut frame) = Frame::around(all) else {
            return String::new();
        };
        // A région's map: coarser segments (a pixel here is 500 m or more).
        frame.min_step = REGION_MIN_STEP;
        let id = esc(&self.id);
        let mut s = frame.open(&id, &self.title);
        let background: String = self.background.iter().map(|o| frame.path(o)).collect();
        if !background.is_empty() {
            let _ = write!(
                s,
                "<path fill=\"#f2f2f2\" stroke=\"#ffffff\" stroke-width=\"0.5\" aria-hidden=\"true\" d=\"{background}\"/>"
            );
        }
        let mut groups: Vec<&Group> = self.groups.iter().collect();
        groups.sort_by_key(|g| g.outlined);
        for g in groups {
            let d: String = g.outlines.iter().map(|o| frame.path(o)).collect();
            if d.is_empty() {
                continue;
            }
            let paint = if g.outlined {
                "fill=\"none\" stroke=\"#161616\" stroke-width=\"2\" stroke-linejoin=\"round\""
                    .to_owned()
            } else {
                match g.class.and_then(|c| self.classes.get(c)) {
                    Some(c) => format!(
                        "fill=\"{0}\" stroke=\"{0}\" stroke-width=\"0.8\" stroke-linejoin=\"round\"",
                        c.fill
                    ),
                    None => format!(
                        "fill=\"url(#{id}-nd)\" stroke=\"#767676\" stroke-width=\"0.8\""
                    ),
                }
            };
            let path = format!(
                "<path {paint} d=\"{d}\"><title>{}</title></path>",
                esc(&g.title)
            );
            match &g.href {
                Some(href) => {
                    let _ = write!(
                        s,
                        "<a href=\"{}\" aria-label=\"{}\">{path}</a>",
                        esc(href),
                        esc(&g.title)
                    );
                }
                None => s.push_str(&path),
            }
        }
        s.push_str("</svg>");
        s
    }

    /// The legend as an HTML list (words and swatches).
    pub fn legend(&self, extra: &[(&str, &str)]) -> String {
        let mut s = String::from("<ul class=\"map-legend\">");
        for c in &self.classes {
            let _ = write!(
                s,
                "<li><svg class=\"swatch\" viewBox=\"0 0 20 20\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"18\" height=\"18\" fill=\"{}\" stroke=\"#3a3a3a\"/></svg>{}</li>",
                c.fill,
                esc(&c.label)
            );
        }
        for (class, label) in extra {
            let _ = write!(
                s,
                "<li><span class=\"swatch {}\" aria-hidden=\"true\"></span>{}</li>",
                esc(class),
                esc(label)
            );
        }
        s.push_str("</ul>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64) -> String {
        format!(
            "{{\"type\":\"Polygon\",\"coordinates\":[[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]]}}",
            x + 0.1,
            x + 0.1,
            y + 0.1,
            y + 0.1
        )
    }

    #[test]
    fn reads_polygons_and_multipolygons() {
        let p = Outline::from_geojson(&square(2.8, 50.4)).unwrap();
        assert_eq!(p.0.len(), 1);
        assert_eq!(p.0[0][0].len(), 5);
        let m = Outline::from_geojson(
            "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]]]]}",
        )
        .unwrap();
        assert_eq!(m.0.len(), 2);
        assert!(Outline::from_geojson("{\"type\":\"Point\",\"coordinates\":[0,0]}").is_none());
        assert!(Outline::from_geojson("pas du json").is_none());
    }

    #[test]
    fn dissolving_two_neighbours_leaves_one_outline() {
        let a = Outline::from_geojson(&square(2.8, 50.4)).unwrap();
        let b = Outline::from_geojson(&square(2.9, 50.4)).unwrap();
        let far = Outline::from_geojson(&square(3.5, 50.4)).unwrap();
        let d = Outline::dissolve(&[a.clone(), b]);
        assert_eq!(d.0.len(), 1, "two touching squares make one polygon");
        let xs: Vec<f64> = d.0[0][0].iter().map(|p| p.0).collect();
        assert!(
            xs.iter().any(|x| (x - 2.8).abs() < 1e-9) && xs.iter().any(|x| (x - 3.0).abs() < 1e-9)
        );
        assert_eq!(Outline::dissolve(&[a, far]).0.len(), 2);
        assert!(Outline::dissolve(&[]).0.is_empty());
    }

    #[test]
    fn quantiles_and_classes() {
        let b = Choropleth::quantile_bounds(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 4);
        assert_eq!(b, vec![2.0, 4.0, 6.0, 8.0]);
        assert_eq!(Choropleth::class_of(&b, 1.0), 0);
        assert_eq!(Choropleth::class_of(&b, 4.5), 2);
        assert_eq!(Choropleth::class_of(&b, 99.0), 3);
        assert_eq!(Choropleth::quantile_bounds(&[3.0, 3.0, 3.0], 4), vec![3.0]);
        assert!(Choropleth::quantile_bounds(&[], 4).is_empty());
    }

    #[test]
    fn svg_has_titles_escaped_and_a_frame() {
        let map = Choropleth {
            id: "m".into(),
            title: "Accès <généralistes>".into(),
            classes: vec![Class {
                label: "de 1 à 2".into(),
                fill: BLUES[0],
            }],
            areas: vec![
                Area {
                    code: "1".into(),
                    name: "A & B".into(),
                    outline: Outline::from_geojson(&square(2.8, 50.4)).unwrap(),
                    class: Some(0),
                    value: "1,5".into(),
                    marked: true,
                },
                Area {
                    code: "2".into(),
                    name: "C".into(),
                    outline: Outline::from_geojson(&square(2.9, 50.4)).unwrap(),
                    class: None,
                    value: "pas de score".into(),
                    marked: false,
                },
            ],
            context: vec![],
            marked_label: "sous le seuil".into(),
        };
        let svg = map.svg();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<title>A &amp; B : 1,5</title>"));
        assert!(svg.contains("Accès &lt;généralistes&gt;"));
        assert!(svg.contains("url(#m-nd)"));
        assert!(svg.contains("viewBox=\"0 0 640 "));
        let legend = map.legend();
        assert!(
            legend.contains("de 1 à 2")
                && legend.contains("hachuré")
                && legend.contains("sous le seuil")
        );
        assert_eq!(Choropleth::default().svg(), "");
    }
}
