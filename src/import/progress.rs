//! The progress of a command-line import, on stderr.
//!
//! Quiet for the first second: most imports are over by then. After that,
//! on a terminal, one line rewritten in place at most four times a second:
//! the stage, the rows done (out of the total when it is known), the rate
//! and the time left. When stderr is not a terminal (a log file, a pipe, a
//! cron job), no line per update: one summary line at the end, stage by
//! stage, and only for an import that took more than a second.
//!
//! The importers report through [`super::Progress`] (`stage, done, total`,
//! total 0 when unknown), as they do for the back office's job page:
//! `let progress = meter.callback();` then pass `&progress`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Nothing is shown before the import has run this long.
const QUIET_FOR: Duration = Duration::from_secs(1);
/// A terminal line is redrawn at most this often.
const REDRAW_EVERY: Duration = Duration::from_millis(250);

pub struct Meter {
    name: String,
    started: Instant,
    /// stderr is a terminal: draw the line in place.
    live: bool,
    state: Mutex<State>,
}

struct State {
    stages: Vec<Stage>,
    /// When the line was last drawn (terminal only).
    drawn_at: Option<Instant>,
    /// The summary was written, or the line erased: nothing more to say.
    finished: bool,
    out: Box<dyn Write + Send>,
}

struct Stage {
    name: String,
    /// When the previous stage last reported (or the import started).
    started: Instant,
    last: Instant,
    done: u64,
    total: u64,
}

impl Meter {
    /// A meter for the import of `name` (the file), drawing on stderr.
    pub fn new(name: impl Into<String>) -> Meter {
        let live = std::io::stderr().is_terminal();
        Meter::with_output(name, live, Box::new(std::io::stderr()), Instant::now())
    }

    /// A meter writing to `out`, as a terminal (`live`) or not, started at
    /// `started` (tests give their own clock).
    pub fn with_output(
        name: impl Into<String>,
        live: bool,
        out: Box<dyn Write + Send>,
        started: Instant,
    ) -> Meter {
        Meter {
            name: name.into(),
            started,
            live,
            state: Mutex::new(State {
                stages: Vec::new(),
                drawn_at: None,
                finished: false,
                out,
            }),
        }
    }

    /// The [`super::Progress`] callback of this meter.
    pub fn callback(&self) -> impl Fn(&str, u64, u64) + Send + Sync + '_ {
        move |stage, done, total| self.report(stage, done, total)
    }

    pub fn report(&self, stage: &str, done: u64, total: u64) {
        self.report_at(stage, done, total, Instant::now());
    }

    /// [`Meter::report`] at a given time.
    pub fn report_at(&self, stage: &str, done: u64, total: u64, now: Instant) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if st.finished {
            return;
        }
        match st.stages.last_mut() {
            Some(s) if s.name == stage => {
                s.done = done;
                s.total = total;
                s.last = now;
            }
            previous => {
                let started = previous.map_or(self.started, |p| p.last);
                st.stages.push(Stage {
                    name: stage.to_owned(),
                    started,
                    last: now,
                    done,
                    total,
                });
            }
        }
        if !self.live || now.saturating_duration_since(self.started) < QUIET_FOR {
            return;
        }
        let finished_stage = total > 0 && done >= total;
        if st
            .drawn_at
            .is_some_and(|at| now.saturating_duration_since(at) < REDRAW_EVERY)
            && !finished_stage
        {
            return;
        }
        let Some(s) = st.stages.last() else { return };
        let line = format!(
            "\r{} : {}\x1b[K",
            self.name,
            stage_line(
                &s.name,
                s.done,
                s.total,
                now.saturating_duration_since(s.started)
            )
        );
        st.drawn_at = Some(now);
        let _ = st.out.write_all(line.as_bytes());
        let _ = st.out.flush();
    }

    /// The import is over: erase the terminal line, or, elsewhere, write the
    /// summary line when the import took more than a second.
    pub fn finish(&self) {
        self.finish_at(Instant::now());
    }

    /// [`Meter::finish`] at a given time.
    pub fn finish_at(&self, now: Instant) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if st.finished {
            return;
        }
        st.finished = true;
        if self.live {
            if st.drawn_at.is_some() {
                let _ = st.out.write_all(b"\r\x1b[K");
                let _ = st.out.flush();
            }
            return;
        }
        let took = now.saturating_duration_since(self.started);
        if took < QUIET_FOR || st.stages.is_empty() {
            return;
        }
        let stages: Vec<String> = st
            .stages
            .iter()
            .map(|s| {
                let spent = s.last.saturating_duration_since(s.started);
                format!(
                    "{} {} en {}{}",
                    s.name,
                    count(s.done),
                    duration(spent),
                    rate(s.done, spent)
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        let line = format!(
            "{} : {} ; en tout {}\n",
            self.name,
            stages.join(", "),
            duration(took)
        );
        let _ = st.out.write_all(line.as_bytes());
        let _ = st.out.flush();
    }

    /// The import failed: erase the terminal line (so that the error
    /// starts on a clean line), and write no summary.
    pub fn abandon(&self) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if !st.finished && self.live && st.drawn_at.is_some() {
            let _ = st.out.write_all(b"\r\x1b[K");
            let _ = st.out.flush();
        }
        st.finished = true;
    }
}

impl Drop for Meter {
    /// An import that stopped on an error leaves no half line behind.
    fn drop(&mut self) {
        self.abandon();
    }
}

/// `lecture du fichier — 12 345 / 37 006 (33 %), 8 200/s, encore 3 s`.
pub fn stage_line(stage: &str, done: u64, total: u64, spent: Duration) -> String {
    let mut line = format!("{stage} — {}", count(done));
    if total > 0 {
        line.push_str(&format!(
            " / {} ({} %)",
            count(total),
            done.min(total) * 100 / total
        ));
    }
    if let Some(r) = rate(done, spent) {
        line.push_str(&format!(", {r}"));
    }
    let per_second = done as f64 / spent.as_secs_f64();
    if total > done && done > 0 && per_second.is_finite() && per_second > 0.0 {
        let left = Duration::from_secs_f64((total - done) as f64 / per_second);
        line.push_str(&format!(", encore {}", duration(left)));
    }
    line
}

/// `8 200/s`, when there is something to divide.
fn rate(done: u64, spent: Duration) -> Option<String> {
    let secs = spent.as_secs_f64();
    (done > 0 && secs >= 0.001).then(|| format!("{}/s", count((done as f64 / secs).round() as u64)))
}

/// `37 006`: thousands separated by a space, as French writes them.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `0,4 s`, `42 s`, `3 min 05 s`, `1 h 02 min`.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{:.1} s", secs).replace('.', ",")
    } else if secs < 60.0 {
        format!("{} s", secs.round() as u64)
    } else if secs < 3600.0 {
        let s = secs.round() as u64;
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        let m = (secs / 60.0).round() as u64;
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn figures_in_french() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(37_006), "37 006");
        assert_eq!(count(2_000_000), "2 000 000");
        assert_eq!(duration(ms(420)), "0,4 s");
        assert_eq!(duration(ms(42_000)), "42 s");
        assert_eq!(duration(ms(185_000)), "3 min 05 s");
        assert_eq!(duration(Duration::from_secs(3720)), "1 h 02 min");
        assert_eq!(
            stage_line("lecture du fichier", 10_000, 40_000, ms(2_000)),
            "lecture du fichier — 10 000 / 40 000 (25 %), 5 000/s, encore 6,0 s"
        );
        assert_eq!(
            stage_line("lecture du fichier", 10_000, 0, ms(2_000)),
            "lecture du fichier — 10 000, 5 000/s"
        );
    }

    #[test]
    fn a_terminal_sees_one_line_redrawn_after_the_first_second() {
        let sink = Sink::default();
        let t0 = Instant::now();
        let m = Meter::with_output("communes.json", true, Box::new(sink.clone()), t0);
        m.report_at("lecture du fichier", 1_000, 37_006, t0 + ms(300));
        assert_eq!(sink.text(), "", "quiet for the first second");
        m.report_at("lecture du fichier", 20_000, 37_006, t0 + ms(1_100));
        m.report_at("lecture du fichier", 21_000, 37_006, t0 + ms(1_150));
        let text = sink.text();
        assert_eq!(
            text.matches('\r').count(),
            1,
            "not redrawn within 250 ms: {text:?}"
        );
        assert!(text.contains("communes.json : lecture du fichier — 20 000 / 37 006 (54 %)"));
        assert!(text.contains("encore"), "{text:?}");
        m.report_at("enregistrement", 37_006, 37_006, t0 + ms(1_200));
        assert!(sink
            .text()
            .contains("enregistrement — 37 006 / 37 006 (100 %)"));
        m.finish_at(t0 + ms(1_300));
        assert!(sink.text().ends_with("\r\x1b[K"), "the line is erased");
        assert!(!sink.text().contains('\n'));
    }

    #[test]
    fn elsewhere_one_summary_line_at_the_end() {
        let sink = Sink::default();
        let t0 = Instant::now();
        let m = Meter::with_output("rpps.txt", false, Box::new(sink.clone()), t0);
        for i in 1..=200u64 {
            m.report_at("lecture du fichier", i * 10_000, 2_000_000, t0 + ms(i * 20));
        }
        m.report_at("enregistrement", 0, 500_000, t0 + ms(4_000));
        m.report_at("enregistrement", 500_000, 500_000, t0 + ms(6_000));
        assert_eq!(sink.text(), "", "no line per update");
        m.finish_at(t0 + ms(6_500));
        let text = sink.text();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("rpps.txt : lecture du fichier 2 000 000 en 4,0 s (500 000/s), enregistrement 500 000 en 2,0 s (250 000/s) ; en tout 6,5 s"),
            "{text}"
        );
    }

    #[test]
    fn short_imports_say_nothing() {
        for live in [true, false] {
            let sink = Sink::default();
            let t0 = Instant::now();
            let m = Meter::with_output("epci.json", live, Box::new(sink.clone()), t0);
            m.report_at("lecture du fichier", 1_255, 1_255, t0 + ms(200));
            m.finish_at(t0 + ms(600));
            drop(m);
            assert_eq!(sink.text(), "");
        }
    }

    #[test]
    fn a_failed_import_leaves_no_half_line() {
        let sink = Sink::default();
        let t0 = Instant::now();
        let m = Meter::with_output("finess.csv", true, Box::new(sink.clone()), t0);
        m.report_at("lecture du fichier", 10_000, 0, t0 + ms(1_500));
        drop(m);
        assert!(sink.text().ends_with("\r\x1b[K"));
    }
}
