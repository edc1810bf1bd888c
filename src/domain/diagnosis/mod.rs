//! The territory's health diagnosis: chapters and findings (`chapter`).

pub mod access;
pub mod chapter;
pub mod population;
pub mod profession;
pub mod stats;
