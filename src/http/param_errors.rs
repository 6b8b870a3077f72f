//! Parameter checks worded as Rocket.Chat words them: Meteor's `check()` (`Match error: …`)
//! for the legacy endpoints and AJV's messages (`must be string [invalid-params]`) for the
//! schema-validated ones.

use super::error::ApiError;
use serde_json::{Map, Value};

/// The JSON type name Meteor's `check()` reports (`got number`, `got null` …).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `in field <path>`, or nothing at the top level.
fn in_field(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" in field {path}")
    }
}

/// `Match error: Expected <expected>, got <type>[ in field <path>]`.
pub fn expected(expected: &str, got: &Value, path: &str) -> ApiError {
    ApiError::matching(format!(
        "Expected {expected}, got {}{}",
        type_name(got),
        in_field(path)
    ))
}

/// `Match error: Missing key '<key>'[ in field <path>]`.
pub fn missing(key: &str, path: &str) -> ApiError {
    ApiError::matching(format!("Missing key '{key}'{}", in_field(path)))
}

/// `Match error: Unknown key '<key>'`.
pub fn unknown(key: &str) -> ApiError {
    ApiError::matching(format!("Unknown key '{key}'"))
}

/// A string, or null / absent as "not given".
pub fn maybe_string(v: Option<&Value>, path: &str) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(expected("string", other, path)),
    }
}

/// A required string (null is a type error).
pub fn string(v: &Value, path: &str) -> Result<String, ApiError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(expected("string", other, path)),
    }
}

/// A flat object checked like Meteor's `check(body, {k: String, …})`: keys in document order,
/// unknown keys refused, then the first missing required key. Returns the required strings in
/// the order of `required`, and the optional ones (absent or null → `None`).
pub fn flat_strings<const R: usize, const O: usize>(
    body: &Map<String, Value>,
    required: [&str; R],
    optional: [&str; O],
) -> Result<([String; R], [Option<String>; O]), ApiError> {
    for (key, value) in body {
        if required.contains(&key.as_str()) {
            string(value, key)?;
        } else if optional.contains(&key.as_str()) {
            maybe_string(Some(value), key)?;
        } else {
            return Err(unknown(key));
        }
    }
    let mut req: [String; R] = std::array::from_fn(|_| String::new());
    for (slot, key) in req.iter_mut().zip(required) {
        *slot = match body.get(key) {
            Some(v) => string(v, key)?,
            None => return Err(missing(key, "")),
        };
    }
    let mut opt: [Option<String>; O] = std::array::from_fn(|_| None);
    for (slot, key) in opt.iter_mut().zip(optional) {
        *slot = maybe_string(body.get(key), key)?;
    }
    Ok((req, opt))
}

/// AJV's `must have required property '<key>'`.
pub fn ajv_required(key: &str) -> ApiError {
    ApiError::InvalidParams(format!("must have required property '{key}'"))
}

/// AJV's `must be <type>`.
pub fn ajv_type(expected: &str) -> ApiError {
    ApiError::InvalidParams(format!("must be {expected}"))
}

/// AJV's `must NOT have additional properties`.
pub fn ajv_additional() -> ApiError {
    ApiError::InvalidParams("must NOT have additional properties".into())
}

/// AJV's order for the `keys` of an object (a body, a query) under a schema with
/// `additionalProperties: false`: required keys (in the schema's order), then unlisted keys.
pub fn ajv_keys<'k>(
    keys: impl IntoIterator<Item = &'k str> + Clone,
    required: &[&str],
    allowed: &[&str],
) -> Result<(), ApiError> {
    let has = |key: &str| keys.clone().into_iter().any(|k| k == key);
    if let Some(key) = required.iter().find(|k| !has(k)) {
        return Err(ajv_required(key));
    }
    if keys.clone().into_iter().any(|k| !allowed.contains(&k)) {
        return Err(ajv_additional());
    }
    Ok(())
}

/// [`ajv_keys`] for a JSON object.
pub fn ajv_map_keys(
    map: &Map<String, Value>,
    required: &[&str],
    allowed: &[&str],
) -> Result<(), ApiError> {
    ajv_keys(map.keys().map(String::as_str), required, allowed)
}

/// [`ajv_keys`] for a JSON value, which must be an object. The caller then checks each
/// property's own schema.
pub fn ajv_object<'a>(
    value: &'a Value,
    required: &[&str],
    allowed: &[&str],
) -> Result<&'a Map<String, Value>, ApiError> {
    let Value::Object(map) = value else {
        return Err(ajv_type("object"));
    };
    ajv_map_keys(map, required, allowed)?;
    Ok(map)
}

/// A string under AJV rules (`must be string`), limited to `max` characters.
pub fn ajv_string<'a>(v: &'a Value, field: &str, max: usize) -> Result<&'a str, ApiError> {
    match v {
        Value::String(s) if s.chars().count() > max => Err(ApiError::too_long(field, max)),
        Value::String(s) => Ok(s),
        _ => Err(ajv_type("string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn flat_strings_reports_in_meteor_order() {
        let err = |v| {
            format!(
                "{}",
                flat_strings(&obj(v), ["rid", "token"], []).unwrap_err()
            )
        };
        assert!(err(json!({"x": 1})).contains("Match error: Unknown key 'x'"));
        assert!(err(json!({"rid": "a"})).contains("Match error: Missing key 'token'"));
        assert!(err(json!({"rid": 1}))
            .contains("Match error: Expected string, got number in field rid"));
        let (req, _) = flat_strings(
            &obj(json!({"token": "t", "rid": "r"})),
            ["rid", "token"],
            [],
        )
        .unwrap();
        assert_eq!(req, ["r", "t"]);
    }

    #[test]
    fn ajv_object_order() {
        let e = |v: Value| format!("{}", ajv_object(&v, &["a", "b"], &["a", "b"]).unwrap_err());
        assert!(e(json!([])).contains("must be object [invalid-params]"));
        assert!(e(json!({"b": 1, "z": 1})).contains("must have required property 'a'"));
        assert!(e(json!({"a": 1, "b": 1, "z": 1})).contains("must NOT have additional properties"));
    }
}
