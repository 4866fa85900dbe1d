//! State machine actions: create, describe, update, delete, list, and
//! `ValidateStateMachineDefinition`.

use serde_json::{json, Value};

use super::errors::ApiError;
use super::store::{newest_first, MachineRecord};
use super::{check_name, now, page, Req, Shared};
use crate::exec::local_arn;
use crate::model::StateMachine;
use crate::validate::validate;

/// The definition text parsed and validated as `CreateStateMachine` does.
pub(crate) fn parse_definition(text: &str) -> Result<StateMachine, ApiError> {
    let machine =
        StateMachine::from_str(text).map_err(|e| ApiError::invalid_definition(&e.to_string()))?;
    let problems = validate(&machine);
    if let Some(p) = problems.first() {
        let more = match problems.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(ApiError::invalid_definition(&format!(
            "{}: {p} at /{}{more}",
            p.code,
            p.location.replace('.', "/")
        )));
    }
    Ok(machine)
}

/// The ARN's state machine name, or `InvalidArn`.
pub(crate) fn machine_arn_name(arn: &str) -> Result<(&str, Option<&str>), ApiError> {
    let rest = arn
        .strip_prefix("arn:aws:states:")
        .and_then(|r| r.split_once(":stateMachine:"))
        .map(|(_, name)| name)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid_arn(arn))?;
    // `Name#TestCase` (Step Functions Local's mock test case), `Name:version`.
    let (name, case) = match rest.split_once('#') {
        Some((n, c)) => (n, Some(c)),
        None => (rest, None),
    };
    Ok((name.split(':').next().unwrap_or(name), case))
}

impl Shared {
    /// The state machine an ARN names (a test case suffix allowed).
    pub(crate) fn machine(&self, arn: &str) -> Result<MachineRecord, ApiError> {
        let (name, _) = machine_arn_name(arn)?;
        self.machines
            .lock()
            .expect("machines")
            .get(&local_arn("stateMachine", name))
            .cloned()
            .ok_or_else(|| ApiError::state_machine_does_not_exist(arn))
    }
}

fn kind(req: Req<'_>) -> Result<String, ApiError> {
    match req.opt_str("type")? {
        None | Some("STANDARD") => Ok("STANDARD".into()),
        Some("EXPRESS") => Ok("EXPRESS".into()),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        ))),
    }
}

pub(crate) fn create(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let name = req.str("name")?;
    let definition = req.str("definition")?;
    let role_arn = req.str("roleArn")?;
    check_name(name)?;
    let kind = kind(req)?;
    parse_definition(definition)?;
    let arn = local_arn("stateMachine", name);
    let mut machines = shared.machines.lock().expect("machines");
    if let Some(old) = machines.get(&arn) {
        // Idempotent as on AWS: the same request again answers the same machine.
        if old.definition == definition && old.role_arn == role_arn && old.kind == kind {
            return Ok(json!({"stateMachineArn": arn, "creationDate": old.creation_date}));
        }
        return Err(ApiError::state_machine_already_exists(&arn));
    }
    let rec = MachineRecord {
        state_machine_arn: arn.clone(),
        name: name.to_string(),
        definition: definition.to_string(),
        role_arn: role_arn.to_string(),
        kind,
        creation_date: now(),
        update_date: None,
        revision_id: uuid::Uuid::new_v4().to_string(),
    };
    shared
        .store
        .save_machine(&rec)
        .map_err(|w| ApiError::store(&w))?;
    let answer = json!({"stateMachineArn": arn, "creationDate": rec.creation_date});
    machines.insert(arn, rec);
    Ok(answer)
}

/// `DescribeStateMachine`'s answer for a record.
pub(crate) fn description(m: &MachineRecord) -> Value {
    json!({
        "stateMachineArn": m.state_machine_arn,
        "name": m.name,
        "status": "ACTIVE",
        "definition": m.definition,
        "roleArn": m.role_arn,
        "type": m.kind,
        "creationDate": m.creation_date,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
        "revisionId": m.revision_id,
    })
}

pub(crate) fn describe(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    Ok(description(&shared.machine(req.str("stateMachineArn")?)?))
}

pub(crate) fn update(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let arn = req.str("stateMachineArn")?;
    let mut rec = shared.machine(arn)?;
    let definition = req.opt_str("definition")?;
    let role_arn = req.opt_str("roleArn")?;
    if definition.is_none() && role_arn.is_none() {
        return Err(ApiError::missing("definition"));
    }
    if let Some(d) = definition {
        parse_definition(d)?;
        rec.definition = d.to_string();
    }
    if let Some(r) = role_arn {
        rec.role_arn = r.to_string();
    }
    rec.update_date = Some(now());
    rec.revision_id = uuid::Uuid::new_v4().to_string();
    shared
        .store
        .save_machine(&rec)
        .map_err(|w| ApiError::store(&w))?;
    let answer = json!({"updateDate": rec.update_date, "revisionId": rec.revision_id});
    shared
        .machines
        .lock()
        .expect("machines")
        .insert(rec.state_machine_arn.clone(), rec);
    Ok(answer)
}

pub(crate) fn delete(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let arn = req.str("stateMachineArn")?;
    let (name, _) = machine_arn_name(arn)?;
    // Deleting what does not exist succeeds, as on AWS.
    shared
        .store
        .delete_machine(name)
        .map_err(|w| ApiError::store(&w))?;
    shared
        .machines
        .lock()
        .expect("machines")
        .remove(&local_arn("stateMachine", name));
    Ok(json!({}))
}

pub(crate) fn list(shared: &Shared, req: Req<'_>) -> Result<Value, ApiError> {
    let all = newest_first(shared.machines.lock().expect("machines").clone(), |m| {
        m.creation_date
    });
    let (start, end, next) = page(all.len(), req, 100)?;
    let items: Vec<Value> = all[start..end]
        .iter()
        .map(|m| {
            json!({"stateMachineArn": m.state_machine_arn, "name": m.name, "type": m.kind, "creationDate": m.creation_date})
        })
        .collect();
    let mut out = json!({ "stateMachines": items });
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    Ok(out)
}

/// `ValidateStateMachineDefinition`: `OK` or `FAIL` with diagnostics.
pub(crate) fn validate_definition(req: Req<'_>) -> Result<Value, ApiError> {
    let definition = req.str("definition")?;
    let max = req.opt_u64("maxResults")?.filter(|m| *m > 0).unwrap_or(100) as usize;
    let diagnostics: Vec<Value> = match StateMachine::from_str(definition) {
        Err(e) => vec![
            json!({"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": e.to_string()}),
        ],
        Ok(m) => validate(&m)
            .iter()
            .map(|p| {
                json!({
                    "severity": "ERROR",
                    "code": p.code,
                    "message": p.to_string(),
                    "location": format!("/{}", p.location.replace('.', "/")),
                })
            })
            .collect(),
    };
    let truncated = diagnostics.len() > max;
    let result = if diagnostics.is_empty() { "OK" } else { "FAIL" };
    Ok(json!({
        "result": result,
        "diagnostics": diagnostics.into_iter().take(max).collect::<Vec<_>>(),
        "truncated": truncated,
    }))
}
