//! Domain types: parsed once at the edge (forms, files, CLI), trusted after.
//! Nothing here knows about HTTP or SQL.

pub mod agenda;
pub mod appraisal;
pub mod areas;
pub mod budget;
pub mod codes;
pub mod contract;
pub mod dates;
pub mod diagnosis;
pub mod directory;
pub mod document;
pub mod evaluation;
pub mod geo;
pub mod indicator;
pub mod messages;
pub mod opening_hours;
pub(crate) mod parallel;
pub mod participation;
pub mod partners;
pub mod phone;
pub mod referrals;
pub mod review;
pub mod roles;
pub mod search;
pub mod service;
pub mod territory;
pub mod text;

/// A value refused at the edge, with a message a person can act on (in French).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(msg: impl Into<String>) -> Self {
        Invalid(msg.into())
    }
}
