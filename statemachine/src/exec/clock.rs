//! The execution's virtual clock: a Wait of *n* seconds sleeps
//! `n × wait_scale` for real and advances the clock by the rest, so
//! `wait_scale = 0` runs instantly while the context object, history
//! timestamps and `TimeoutSeconds` still see full waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};

/// Real time since the start plus the virtual seconds skipped.
pub(super) struct Clock {
    start: Instant,
    start_wall: DateTime<Utc>,
    /// `start_wall` in microseconds since the epoch.
    start_micros: i64,
    /// Virtual seconds skipped so far (an `f64`'s bits).
    skipped: AtomicU64,
}

impl Clock {
    /// A clock that starts now, at `start_wall`.
    pub(super) fn starting_at(start_wall: DateTime<Utc>) -> Self {
        Clock {
            start: Instant::now(),
            start_wall,
            start_micros: start_wall.timestamp_micros(),
            skipped: AtomicU64::new(0.0f64.to_bits()),
        }
    }

    pub(super) fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64() + f64::from_bits(self.skipped.load(Ordering::Acquire))
    }
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.at(self.elapsed())
    }
    /// The wall time `elapsed` seconds after the start.
    pub(super) fn at(&self, elapsed: f64) -> DateTime<Utc> {
        self.start_wall + chrono::Duration::microseconds((elapsed * 1e6) as i64)
    }
    /// Moves the clock to `elapsed` seconds after the start, unless it is
    /// already past it.
    pub(super) fn advance_to(&self, elapsed: f64) {
        let real = self.start.elapsed().as_secs_f64();
        let _ = self
            .skipped
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                let skipped = f64::from_bits(bits);
                (real + skipped < elapsed).then(|| (elapsed - real).to_bits())
            });
    }

    pub(super) fn advance(&self, secs: f64) {
        let _ = self
            .skipped
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                Some((f64::from_bits(bits) + secs).to_bits())
            });
    }
}

/// RFC 3339 text with milliseconds, reusing the last text while the
/// millisecond is unchanged (many events share one).
#[derive(Default)]
pub(super) struct TimestampCache {
    /// The millisecond (since the epoch) of `text`.
    last: Option<(i64, Arc<str>)>,
}

impl TimestampCache {
    /// The time `elapsed` seconds after the clock's start.
    pub(super) fn format(&mut self, clock: &Clock, elapsed: f64) -> Arc<str> {
        let ms = (clock.start_micros + (elapsed * 1e6) as i64).div_euclid(1000);
        match &self.last {
            Some((k, text)) if *k == ms => text.clone(),
            _ => {
                let text: Arc<str> = clock
                    .at(elapsed)
                    .to_rfc3339_opts(SecondsFormat::Millis, true)
                    .into();
                self.last = Some((ms, text.clone()));
                text
            }
        }
    }
}
