//! Coordinates: the projected systems of French open data, converted to
//! WGS84 longitude/latitude, and a check that a point lies in France.

use std::sync::OnceLock;

use proj4rs::proj::Proj;

/// The systems named by FINESS geolocation sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// Metropolitan France, EPSG:2154.
    Lambert93,
    /// Guadeloupe, Martinique (RGAF09 / UTM 20N), EPSG:5490.
    Antilles,
    /// Guyane (RGFG95 / UTM 22N), EPSG:2972.
    Guyane,
    /// La Réunion (RGR92 / UTM 40S), EPSG:2975.
    Reunion,
    /// Mayotte (RGM04 / UTM 38S), EPSG:4471.
    Mayotte,
    /// Saint-Pierre-et-Miquelon (RGSPM06 / UTM 21N), EPSG:4467.
    SaintPierre,
}

impl System {
    /// Read the system from the last comma-separated part of a FINESS
    /// `source` field (`…,LAMBERT_93`, `…,EPSG:2975`, `…,UTM_N20`).
    pub fn from_source(source: &str) -> Option<System> {
        let last = source
            .rsplit(',')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_uppercase();
        let has = |s: &str| last.contains(s);
        Some(if has("LAMBERT_93") || has("LAMBERT93") || has("2154") {
            System::Lambert93
        } else if has("5490") || has("UTM_N20") {
            System::Antilles
        } else if has("2972") || has("UTM_N22") {
            System::Guyane
        } else if has("2975") || has("UTM_S40") {
            System::Reunion
        } else if has("4471") || has("UTM_S38") {
            System::Mayotte
        } else if has("4467") || has("UTM_N21") {
            System::SaintPierre
        } else {
            return None;
        })
    }

    fn proj_string(self) -> &'static str {
        match self {
            System::Lambert93 => {
                "+proj=lcc +lat_0=46.5 +lon_0=3 +lat_1=49 +lat_2=44 +x_0=700000 +y_0=6600000 \
                 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs"
            }
            System::Antilles => "+proj=utm +zone=20 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs",
            System::Guyane => "+proj=utm +zone=22 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs",
            System::Reunion => {
                "+proj=utm +zone=40 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs"
            }
            System::Mayotte => {
                "+proj=utm +zone=38 +south +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs"
            }
            System::SaintPierre => "+proj=utm +zone=21 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs",
        }
    }
}

struct Projections {
    wgs84: Proj,
    systems: Vec<(System, Proj)>,
}

fn projections() -> &'static Projections {
    static P: OnceLock<Projections> = OnceLock::new();
    P.get_or_init(|| {
        let all = [
            System::Lambert93,
            System::Antilles,
            System::Guyane,
            System::Reunion,
            System::Mayotte,
            System::SaintPierre,
        ];
        Projections {
            wgs84: Proj::from_proj_string("+proj=longlat +ellps=WGS84 +datum=WGS84 +no_defs")
                .expect("WGS84 definition"),
            systems: all
                .iter()
                .map(|s| {
                    (
                        *s,
                        Proj::from_proj_string(s.proj_string()).expect("projection definition"),
                    )
                })
                .collect(),
        }
    })
}

/// Convert projected metres to WGS84 (longitude, latitude) in degrees.
pub fn to_wgs84(system: System, x: f64, y: f64) -> Option<(f64, f64)> {
    let p = projections();
    let from = &p.systems.iter().find(|(s, _)| *s == system)?.1;
    let mut point = (x, y, 0.0);
    proj4rs::transform::transform(from, &p.wgs84, &mut point).ok()?;
    let (lon, lat) = (point.0.to_degrees(), point.1.to_degrees());
    (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
}

/// Is the point in metropolitan France or an overseas département/collectivity
/// that FINESS covers? (Generous bounding boxes.)
pub fn in_france(lon: f64, lat: f64) -> bool {
    const BOXES: [(f64, f64, f64, f64); 6] = [
        (-5.8, 10.0, 41.0, 51.6),   // metropole and Corsica
        (-63.3, -60.6, 14.2, 18.2), // Antilles
        (-54.7, -51.4, 2.0, 6.0),   // Guyane
        (55.1, 56.0, -21.5, -20.8), // La Réunion
        (44.9, 45.4, -13.1, -12.5), // Mayotte
        (-56.6, -55.9, 46.7, 47.2), // Saint-Pierre-et-Miquelon
    ];
    BOXES
        .iter()
        .any(|(w, e, s, n)| lon >= *w && lon <= *e && lat >= *s && lat <= *n)
}

/// Great-circle distance in kilometres.
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1) = (a.0.to_radians(), a.1.to_radians());
    let (lon2, lat2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambert93_test_vector() {
        let (lon, lat) = to_wgs84(System::Lambert93, 882408.3, 6543019.6).unwrap();
        assert!((lon - 5.355651).abs() < 1e-6, "{lon}");
        assert!((lat - 45.962402).abs() < 1e-6, "{lat}");
        assert!(in_france(lon, lat));
    }

    #[test]
    fn overseas_systems() {
        let (lon, lat) = to_wgs84(System::Reunion, 338000.0, 7690000.0).unwrap();
        assert!(in_france(lon, lat), "{lon} {lat}");
        assert!((lon - 55.44).abs() < 0.05 && (lat + 20.88).abs() < 0.05);
        assert_eq!(
            System::from_source("1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93"),
            Some(System::Lambert93)
        );
        assert_eq!(System::from_source("x,EPSG:2975"), Some(System::Reunion));
        assert_eq!(System::from_source("x,MERCATOR"), None);
        assert!(!in_france(-74.0, 40.7));
        assert!((distance_km((2.3522, 48.8566), (5.3698, 43.2965)) - 661.0).abs() < 5.0);
    }
}
