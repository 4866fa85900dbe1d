//! Pass: its `Result`, or its `Parameters`, or its input, through the data
//! flow; in JSONata, its `Output` (else its input) and `Assign`.

use std::sync::Arc;

use crate::exec::failure::Failure;
use crate::exec::jsonata::StatesVar;
use crate::exec::runner::{Payload, Runner, Scope, StateCtx};
use crate::exec::size::check_size;

impl Runner<'_> {
    pub(in crate::exec) fn run_pass<'s>(
        &self,
        sc: &StateCtx<'s>,
        raw: &Payload,
        scope: &mut Scope,
    ) -> Result<(Option<&'s str>, Payload), Failure> {
        if sc.state.jsonata {
            if sc.state.get("Output").is_none() && sc.state.get("Assign").is_none() {
                return Ok((self.next_of(sc), raw.clone()));
            }
            let out = self.jsonata_finish(sc, StatesVar::input(raw), (**raw).clone(), scope)?;
            return Ok((self.next_of(sc), Arc::new(out)));
        }
        let eff = self.input_path_cow(sc, raw, scope)?;
        let result = match (sc.state.get("Result"), sc.state.get("Parameters")) {
            // `Result` is literal: keys ending in `.$` are not evaluated.
            (Some(r), _) => r.clone(),
            (None, Some(p)) => self.template(sc, p, &eff, scope, None)?,
            (None, None) => eff.into_owned(),
        };
        check_size(&sc.state.name, &result, true)?;
        let out = self.finish(sc, raw, result, scope)?;
        Ok((self.next_of(sc), Arc::new(out)))
    }
}
