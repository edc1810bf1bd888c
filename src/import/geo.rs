//! Commune outlines and points: `maillage import geo FILE`.
//!
//! Two formats, told apart by the content (a JSON object or a CSV header):
//! - a GeoJSON FeatureCollection of communes (Etalab « contours
//!   administratifs », IGN Admin Express: properties `code` and `nom`,
//!   Polygon or MultiPolygon in WGS84, any simplification level): each
//!   commune gets a simplified outline for the maps and a point inside it
//!   (`geo::InteriorPoint`, on the full outline);
//! - a CSV `code;latitude;longitude` (header required): points only (town
//!   halls, chefs-lieux). They replace the point of an outline and keep the
//!   outline; a later outline file keeps them (see
//!   `storage::geo_reference::save_outlines`).
//!
//! Errors name the feature (« entité 12 : … ») or the line; nothing is
//! written unless the whole file is good.

use std::collections::HashSet;

use geo::{Coord, InteriorPoint, LineString, MultiPolygon, Polygon, SimplifyVwPreserve};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{decimal, line_count, quiet, reading, utf8, CsvFile, ImportError, Progress, Report};
use crate::domain::codes::InseeCode;
use crate::domain::geo::in_france;
use crate::storage::directory::ImportSummary;
use crate::storage::geo_reference::{self, CommuneOutline, CommunePoint};
use crate::storage::Db;

/// Visvalingam-Whyatt tolerance, in square metres of a local projection:
/// a vertex goes when the triangle it makes with its neighbours is smaller
/// than one hectare (say a 100 m × 200 m triangle). On a region-wide map
/// (about 250 m per pixel) such a triangle is far below a pixel, so a
/// commune of a few km² keeps its recognisable shape; on a territory map
/// (about 50 m per pixel) the outline is still smooth. Measured: a round
/// commune 2 km wide drawn with 1,000 vertices (a detailed file) keeps
/// 17 (test `a_dense_outline_loses_most_vertices`); the demo's
/// already simplified file (mapshaper, 25 %) loses about 14 % of its
/// vertices. Communes are simplified one by one (shared borders are not
/// matched), so slivers may show between neighbours at a large zoom.
pub const TOLERANCE_M2: f64 = 10_000.0;

/// Metres per degree of latitude, and of longitude at the equator.
const M_PER_DEG_LAT: f64 = 110_574.0;
const M_PER_DEG_LON: f64 = 111_320.0;

/// What a geo file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoFile {
    Outlines(Vec<CommuneOutline>),
    Points(Vec<CommunePoint>),
}

/// Read a geo file; `known` holds the codes of the communes loaded.
pub fn parse(bytes: &[u8], known: &HashSet<String>) -> Result<GeoFile, ImportError> {
    parse_with(bytes, known, &quiet)
}

/// [`parse`], saying how far it is (in features, or lines of a CSV).
pub fn parse_with(
    bytes: &[u8],
    known: &HashSet<String>,
    progress: Progress<'_>,
) -> Result<GeoFile, ImportError> {
    let text = utf8(bytes)?;
    if text.trim_start().starts_with('{') {
        parse_outlines(text, known, progress).map(GeoFile::Outlines)
    } else {
        parse_points(text, known, progress).map(GeoFile::Points)
    }
}

/// Import a geo file (outlines or points) and record it in the history.
pub async fn import(db: &Db, bytes: &[u8]) -> Result<ImportSummary, ImportError> {
    import_with(db, bytes, &quiet).await
}

/// [`import`], saying how far the reading is.
pub async fn import_with(
    db: &Db,
    bytes: &[u8],
    progress: Progress<'_>,
) -> Result<ImportSummary, ImportError> {
    let known = geo_reference::commune_codes(db).await?;
    Ok(match parse_with(bytes, &known, progress)? {
        GeoFile::Outlines(rows) => geo_reference::save_outlines(db, &rows).await?,
        GeoFile::Points(rows) => geo_reference::save_points(db, &rows).await?,
    })
}

#[derive(Deserialize)]
struct RawCollection<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow)]
    features: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct RawFeature<'a> {
    #[serde(default)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(borrow)]
    geometry: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawGeometry<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    coordinates: Option<&'a RawValue>,
}

type Ring = Vec<Vec<f64>>;

fn parse_outlines(
    text: &str,
    known: &HashSet<String>,
    progress: Progress<'_>,
) -> Result<Vec<CommuneOutline>, ImportError> {
    let collection: RawCollection = serde_json::from_str(text).map_err(|e| {
        ImportError::whole_file(if e.is_eof() {
            "le fichier GeoJSON est tronqué".to_owned()
        } else {
            format!(
                "GeoJSON illisible, ligne {} colonne {} : {e}",
                e.line(),
                e.column()
            )
        })
    })?;
    let features = match (collection.kind.as_deref(), collection.features) {
        (Some("FeatureCollection"), Some(f)) => f,
        _ => {
            return Err(ImportError::whole_file(
                "le fichier doit être une FeatureCollection GeoJSON (« type »: « FeatureCollection », « features »: [ … ])",
            ))
        }
    };
    let mut report = Report::default();
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(features.len());
    for (i, raw) in features.iter().enumerate() {
        let n = i + 1;
        // Each outline is checked and simplified: a few per millisecond.
        reading(progress, n, features.len(), 100);
        match outline_of(raw, known) {
            Ok(row) => {
                if !seen.insert(row.insee_code.clone()) {
                    report.push_entity(
                        n,
                        format!("la commune {} apparaît deux fois", row.insee_code),
                    );
                    continue;
                }
                out.push(row);
            }
            Err(message) => report.push_entity(n, message),
        }
    }
    report.finish()?;
    if out.is_empty() {
        return Err(ImportError::whole_file(
            "le fichier ne contient aucune commune",
        ));
    }
    Ok(out)
}

/// One feature: its code, checked geometry, simplified outline and point.
fn outline_of(raw: &RawValue, known: &HashSet<String>) -> Result<CommuneOutline, String> {
    let feature: RawFeature =
        serde_json::from_str(raw.get()).map_err(|e| format!("entité illisible : {e}"))?;
    let props = feature
        .properties
        .ok_or("propriétés absentes (« code » et « nom » attendus)")?;
    let code = match props.get("code") {
        Some(serde_json::Value::String(s)) => InseeCode::parse(s).map_err(|e| e.0)?,
        Some(serde_json::Value::Number(n)) => {
            InseeCode::parse_lenient(&n.to_string()).map_err(|e| e.0)?
        }
        _ => return Err("propriété « code » absente (code INSEE de la commune)".into()),
    };
    let code = code.as_str().to_owned();
    let name = props
        .get("nom")
        .and_then(|v| v.as_str())
        .map(str::trim)
        .unwrap_or("");
    if name.is_empty() {
        return Err(format!("commune {code} : propriété « nom » absente"));
    }
    if !known.contains(&code) {
        return Err(format!(
            "commune inconnue {code} ({name}) : absente de la liste des communes chargée \
             (maillage import communes, même millésime)"
        ));
    }
    let geometry = feature
        .geometry
        .ok_or_else(|| format!("commune {code} : géométrie absente"))?;
    let shape = multipolygon(geometry.get()).map_err(|e| format!("commune {code} : {e}"))?;
    let point = shape
        .interior_point()
        .ok_or_else(|| format!("commune {code} : géométrie invalide (aucun point intérieur)"))?;
    if !in_france(point.x(), point.y()) {
        return Err(format!("commune {code} : point intérieur hors de France"));
    }
    Ok(CommuneOutline {
        insee_code: code,
        latitude: round(point.y(), 6),
        longitude: round(point.x(), 6),
        outline: outline_json(&simplify(&shape)),
    })
}

/// Parse and check a Polygon or MultiPolygon: rings of at least four
/// positions, closed, every position a finite (longitude, latitude) in France.
fn multipolygon(geometry: &str) -> Result<MultiPolygon<f64>, String> {
    let g: RawGeometry =
        serde_json::from_str(geometry).map_err(|e| format!("géométrie illisible : {e}"))?;
    let coordinates = g.coordinates.map(RawValue::get).unwrap_or("null");
    let polygons: Vec<Vec<Ring>> = match g.kind.as_str() {
        "Polygon" => vec![serde_json::from_str(coordinates)
            .map_err(|_| "coordonnées de Polygon illisibles".to_owned())?],
        "MultiPolygon" => serde_json::from_str(coordinates)
            .map_err(|_| "coordonnées de MultiPolygon illisibles".to_owned())?,
        other => {
            return Err(format!(
                "géométrie « {other} » refusée (Polygon ou MultiPolygon attendu)"
            ))
        }
    };
    if polygons.iter().all(|p| p.is_empty()) {
        return Err("géométrie vide".into());
    }
    let mut out = Vec::with_capacity(polygons.len());
    for rings in polygons {
        let mut rings = rings.into_iter().map(ring);
        let Some(exterior) = rings.next() else {
            return Err("polygone vide".into());
        };
        let exterior = exterior?;
        let interiors = rings.collect::<Result<Vec<_>, _>>()?;
        out.push(Polygon::new(exterior, interiors));
    }
    Ok(MultiPolygon::new(out))
}

fn ring(positions: Ring) -> Result<LineString<f64>, String> {
    if positions.len() < 4 {
        return Err(format!(
            "géométrie invalide : un anneau a {} positions (4 au moins)",
            positions.len()
        ));
    }
    let mut coords = Vec::with_capacity(positions.len());
    for p in &positions {
        let (Some(&x), Some(&y)) = (p.first(), p.get(1)) else {
            return Err("géométrie invalide : une position a moins de deux nombres".into());
        };
        if !x.is_finite() || !y.is_finite() {
            return Err("géométrie invalide : coordonnée non numérique".into());
        }
        if !in_france(x, y) {
            return Err(format!(
                "coordonnées hors de France ({x}, {y}) : le fichier doit être en WGS84, \
                 longitude puis latitude"
            ));
        }
        coords.push(Coord { x, y });
    }
    if coords.first() != coords.last() {
        return Err("géométrie invalide : un anneau n'est pas fermé".into());
    }
    Ok(LineString::new(coords))
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// Simplify in a local equirectangular projection (so that the tolerance
/// is in square metres wherever the commune is), then back to degrees
/// rounded to 5 decimals (about 1 m). A ring the simplification would
/// reduce below a triangle is kept as it was (an exterior ring) or dropped
/// (a hole).
fn simplify(shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let lat0 = shape
        .0
        .first()
        .and_then(|p| p.exterior().0.first())
        .map(|c| c.y)
        .unwrap_or(46.0);
    let kx = M_PER_DEG_LON * lat0.to_radians().cos().max(0.01);
    let project = |c: &Coord<f64>| Coord {
        x: c.x * kx,
        y: c.y * M_PER_DEG_LAT,
    };
    let back = |c: &Coord<f64>| Coord {
        x: round(c.x / kx, 5),
        y: round(c.y / M_PER_DEG_LAT, 5),
    };
    let polygons = shape.0.iter().map(|polygon| {
        let projected = Polygon::new(
            polygon.exterior().0.iter().map(project).collect(),
            polygon
                .interiors()
                .iter()
                .map(|r| r.0.iter().map(project).collect())
                .collect(),
        );
        let simple = projected.simplify_vw_preserve(TOLERANCE_M2);
        let exterior = clean(simple.exterior().0.iter().map(back).collect())
            .or_else(|| {
                clean(
                    polygon
                        .exterior()
                        .0
                        .iter()
                        .map(|c| back(&project(c)))
                        .collect(),
                )
            })
            .unwrap_or_else(|| polygon.exterior().clone());
        let interiors = simple
            .interiors()
            .iter()
            .filter_map(|r| clean(r.0.iter().map(back).collect()))
            .collect();
        Polygon::new(exterior, interiors)
    });
    MultiPolygon::new(polygons.collect())
}

/// Drop repeated positions (rounding can make them); `None` when fewer than
/// four positions (a closed triangle) remain.
fn clean(mut coords: Vec<Coord<f64>>) -> Option<LineString<f64>> {
    coords.dedup();
    if coords.first() != coords.last() {
        let first = *coords.first()?;
        coords.push(first);
    }
    (coords.len() >= 4).then(|| LineString::new(coords))
}

/// GeoJSON geometry text: a Polygon for one part, else a MultiPolygon.
fn outline_json(shape: &MultiPolygon<f64>) -> String {
    let polygon = |p: &Polygon<f64>| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r| r.0.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    let value = if shape.0.len() == 1 {
        serde_json::json!({"type": "Polygon", "coordinates": polygon(&shape.0[0])})
    } else {
        serde_json::json!({
            "type": "MultiPolygon",
            "coordinates": shape.0.iter().map(polygon).collect::<Vec<_>>(),
        })
    };
    value.to_string()
}

fn parse_points(
    text: &str,
    known: &HashSet<String>,
    progress: Progress<'_>,
) -> Result<Vec<CommunePoint>, ImportError> {
    let lines = line_count(text);
    let csv = CsvFile::open(text)?;
    let col = |name: &str| csv.column(name);
    let (Some(code_col), Some(lat_col), Some(lon_col)) =
        (col("code"), col("latitude"), col("longitude"))
    else {
        return Err(ImportError::whole_file(
            "ni FeatureCollection GeoJSON ni fichier de points : en-tête attendu code;latitude;longitude",
        ));
    };
    let mut report = Report::default();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for row in csv.rows() {
        let (line, record) = match row {
            Ok(r) => r,
            Err((line, message)) => {
                report.push(line, message);
                continue;
            }
        };
        reading(progress, line, lines, 1_000);
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let code = match InseeCode::parse(field(code_col)) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => {
                report.push(line, e.0);
                continue;
            }
        };
        if !known.contains(&code) {
            report.push(
                line,
                format!("commune inconnue {code} : absente de la liste des communes chargée"),
            );
            continue;
        }
        let (Some(lat), Some(lon)) = (decimal(field(lat_col)), decimal(field(lon_col))) else {
            report.push(
                line,
                format!("commune {code} : latitude ou longitude manquante ou non numérique"),
            );
            continue;
        };
        if !in_france(lon, lat) {
            report.push(
                line,
                format!(
                    "commune {code} : coordonnées hors de France (latitude {lat}, longitude {lon})"
                ),
            );
            continue;
        }
        if !seen.insert(code.clone()) {
            report.push(line, format!("la commune {code} apparaît deux fois"));
            continue;
        }
        out.push(CommunePoint {
            insee_code: code,
            latitude: lat,
            longitude: lon,
        });
    }
    report.finish()?;
    if out.is_empty() {
        return Err(ImportError::whole_file(
            "le fichier ne contient aucun point",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> HashSet<String> {
        ["62498", "62510", "59350"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// A rectangle of about 1.4 × 1.1 km in Lens, with a flat bump on an edge.
    fn square(code: &str) -> String {
        format!(
            r#"{{"type":"Feature","properties":{{"code":"{code}","nom":"Lens"}},"geometry":{{"type":"Polygon","coordinates":[[[2.82,50.42],[2.83,50.42],[2.8301,50.42001],[2.84,50.42],[2.84,50.43],[2.82,50.43],[2.82,50.42]]]}}}}"#
        )
    }

    fn collection(features: &[String]) -> String {
        format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}",
            features.join(",\n")
        )
    }

    fn messages(err: &ImportError) -> Vec<String> {
        err.lines().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn outlines_are_simplified_and_have_an_inner_point() {
        let file = collection(&[square("62498")]);
        let GeoFile::Outlines(rows) = parse(file.as_bytes(), &known()).unwrap() else {
            panic!("outlines expected");
        };
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.insee_code, "62498");
        assert!(r.longitude > 2.82 && r.longitude < 2.84, "{r:?}");
        assert!(r.latitude > 50.42 && r.latitude < 50.43, "{r:?}");
        // The flat bump (a triangle of about 400 m²) goes, the corners stay.
        let outline: serde_json::Value = serde_json::from_str(&r.outline).unwrap();
        assert_eq!(outline["type"], "Polygon");
        let ring = outline["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 5, "{}", r.outline);
        assert!(!r.outline.contains("2.8301"));
    }

    #[test]
    fn multipolygons_stay_multipolygons() {
        let f = r#"{"type":"Feature","properties":{"code":"62510","nom":"Liévin"},"geometry":{"type":"MultiPolygon","coordinates":[[[[2.75,50.41],[2.77,50.41],[2.77,50.43],[2.75,50.43],[2.75,50.41]]],[[[2.78,50.41],[2.79,50.41],[2.79,50.42],[2.78,50.41]]]]}}"#;
        let file = collection(&[f.to_owned()]);
        let GeoFile::Outlines(rows) = parse(file.as_bytes(), &known()).unwrap() else {
            panic!("outlines expected");
        };
        let outline: serde_json::Value = serde_json::from_str(&rows[0].outline).unwrap();
        assert_eq!(outline["type"], "MultiPolygon");
        assert_eq!(outline["coordinates"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn each_bad_feature_is_named_by_its_number() {
        let file = collection(&[
            square("62498"),
            // 2: unknown commune
            square("62999"),
            // 3: empty geometry
            r#"{"type":"Feature","properties":{"code":"62510","nom":"Liévin"},"geometry":{"type":"Polygon","coordinates":[]}}"#.into(),
            // 4: not closed
            r#"{"type":"Feature","properties":{"code":"59350","nom":"Lille"},"geometry":{"type":"Polygon","coordinates":[[[3.0,50.6],[3.1,50.6],[3.1,50.7],[3.0,50.7]]]}}"#.into(),
            // 5: Lambert-93 coordinates, outside France as WGS84
            r#"{"type":"Feature","properties":{"code":"59350","nom":"Lille"},"geometry":{"type":"Polygon","coordinates":[[[704000,7059000],[705000,7059000],[705000,7060000],[704000,7059000]]]}}"#.into(),
            // 6: no properties
            r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[3.0,50.6],[3.1,50.6],[3.1,50.7],[3.0,50.6]]]}}"#.into(),
            // 7: a point
            r#"{"type":"Feature","properties":{"code":"59350","nom":"Lille"},"geometry":{"type":"Point","coordinates":[3.0,50.6]}}"#.into(),
            // 8: no name
            r#"{"type":"Feature","properties":{"code":"59350"},"geometry":null}"#.into(),
            // 9: no geometry
            r#"{"type":"Feature","properties":{"code":"59350","nom":"Lille"},"geometry":null}"#.into(),
        ]);
        let err = parse(file.as_bytes(), &known()).unwrap_err();
        let m = messages(&err);
        assert_eq!(m.len(), 8, "{m:#?}");
        assert!(
            m[0].starts_with("entité 2 : commune inconnue 62999"),
            "{}",
            m[0]
        );
        assert!(
            m[1].starts_with("entité 3 : ") && m[1].contains("vide"),
            "{}",
            m[1]
        );
        assert!(
            m[2].starts_with("entité 4 : ") && m[2].contains("pas fermé"),
            "{}",
            m[2]
        );
        assert!(
            m[3].starts_with("entité 5 : ") && m[3].contains("hors de France"),
            "{}",
            m[3]
        );
        assert!(
            m[4].starts_with("entité 6 : propriétés absentes"),
            "{}",
            m[4]
        );
        assert!(
            m[5].starts_with("entité 7 : ") && m[5].contains("« Point » refusée"),
            "{}",
            m[5]
        );
        assert!(
            m[6].starts_with("entité 8 : ") && m[6].contains("« nom »"),
            "{}",
            m[6]
        );
        assert!(
            m[7].starts_with("entité 9 : ") && m[7].contains("géométrie absente"),
            "{}",
            m[7]
        );
        assert!(err.to_string().contains("rien n'a été importé"));
    }

    #[test]
    fn not_a_feature_collection() {
        let err = parse(br#"{"type":"Feature"}"#, &known()).unwrap_err();
        assert!(err.to_string().contains("FeatureCollection"), "{err}");
        let err = parse(b"{\"type\":\"FeatureCollection\",\"features\":[", &known()).unwrap_err();
        assert!(err.to_string().contains("tronqué"), "{err}");
    }

    #[test]
    fn points_file() {
        let file = "code;latitude;longitude\n62498;50,4322;2,8317\n62510;50.4215;2.7786\n";
        let GeoFile::Points(rows) = parse(file.as_bytes(), &known()).unwrap() else {
            panic!("points expected");
        };
        assert_eq!(
            rows[0],
            CommunePoint {
                insee_code: "62498".into(),
                latitude: 50.4322,
                longitude: 2.8317
            }
        );
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn bad_points_are_named_by_line() {
        let file = "code;latitude;longitude\n62498;50.43;2.83\n62999;50.4;2.8\n62510;abc;2.8\n59350;2.8;50.6\n62498;50.43;2.83\n";
        let err = parse(file.as_bytes(), &known()).unwrap_err();
        let m = messages(&err);
        assert_eq!(m.len(), 4, "{m:#?}");
        assert!(
            m[0].starts_with("ligne 3 : commune inconnue 62999"),
            "{}",
            m[0]
        );
        assert!(
            m[1].starts_with("ligne 4 : ") && m[1].contains("non numérique"),
            "{}",
            m[1]
        );
        assert!(
            m[2].starts_with("ligne 5 : ") && m[2].contains("hors de France"),
            "{}",
            m[2]
        );
        assert!(
            m[3].starts_with("ligne 6 : ") && m[3].contains("deux fois"),
            "{}",
            m[3]
        );
        let err = parse(b"insee;lat;lon\n62498;50.4;2.8\n", &known()).unwrap_err();
        assert!(err.to_string().contains("code;latitude;longitude"), "{err}");
    }

    #[test]
    fn a_dense_outline_loses_most_vertices() {
        // A circle of 1 km radius around Lens, 1,000 vertices about 6 m apart.
        let (lat0, lon0) = (50.43f64, 2.83f64);
        let ring: Vec<String> = (0..=1000)
            .map(|i| {
                let a = std::f64::consts::TAU * f64::from(i % 1000) / 1000.0;
                let lat = lat0 + a.sin() * 1000.0 / M_PER_DEG_LAT;
                let lon = lon0 + a.cos() * 1000.0 / (M_PER_DEG_LON * lat0.to_radians().cos());
                format!("[{lon},{lat}]")
            })
            .collect();
        let f = format!(
            r#"{{"type":"Feature","properties":{{"code":"62498","nom":"Lens"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
            ring.join(",")
        );
        let GeoFile::Outlines(rows) = parse(collection(&[f]).as_bytes(), &known()).unwrap() else {
            panic!("outlines expected");
        };
        let outline: serde_json::Value = serde_json::from_str(&rows[0].outline).unwrap();
        let kept = outline["coordinates"][0].as_array().unwrap().len();
        assert!((12..=60).contains(&kept), "{kept} vertices kept");
        assert!(
            (rows[0].latitude - lat0).abs() < 0.005 && (rows[0].longitude - lon0).abs() < 0.005
        );
    }

    #[test]
    fn the_demo_outlines_keep_their_shape() {
        let file = include_bytes!("../../data/demo/contours.geojson");
        let codes: HashSet<String> = serde_json::from_slice::<serde_json::Value>(file).unwrap()
            ["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["code"].as_str().unwrap().to_owned())
            .collect();
        let GeoFile::Outlines(rows) = parse(file, &codes).unwrap() else {
            panic!("outlines expected");
        };
        assert_eq!(rows.len(), codes.len());
        let lens = rows.iter().find(|r| r.insee_code == "62498").unwrap();
        assert!((lens.latitude - 50.43).abs() < 0.03 && (lens.longitude - 2.83).abs() < 0.04);
        let vertices = |s: &str| s.matches('[').count();
        let before: usize = serde_json::from_slice::<serde_json::Value>(file).unwrap()["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| vertices(&f["geometry"].to_string()))
            .sum();
        let after: usize = rows.iter().map(|r| vertices(&r.outline)).sum();
        assert!(after < before && after * 4 > before, "{before} → {after}");
    }
}
