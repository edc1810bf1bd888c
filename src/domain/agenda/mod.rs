//! Agenda: public holidays, drop-in series (permanences) and their
//! occurrences, events and registrations rules. No I/O.

pub mod activity;
pub mod attendance;
pub mod event;
pub mod holidays;
pub mod paging;
pub mod recurrence;
pub mod slots;
