//! One file per state type, each an `impl Runner` with that type's work;
//! Succeed has none beyond the data flow, so it is in the dispatch (`exec/mod.rs`).

mod choice;
mod fail;
mod map;
mod map_run;
mod parallel;
mod pass;
mod task;
mod wait;
