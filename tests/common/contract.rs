//! The API contract as the tests hold the server to it: every response the suite receives must
//! be documented by the generated OpenAPI document (`visitord::http::reference::document::document`) for its
//! route template, method and status, and its body must validate against that status's schema.
//!
//! The document and one JSON-schema validator per documented (path, method, status) are built
//! once per test binary ([`Contract::get`]).

use actix_web::http::header::HeaderMap;
use jsonschema::Validator;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a documented response requires.
pub struct Expected {
    /// Where it is documented, for messages.
    pub location: String,
    /// The media types it may have (`Content-Type` must be one of them).
    pub media_types: Vec<String>,
    /// The JSON body's schema, when the media type is JSON.
    pub validator: Option<Validator>,
    /// Headers it always carries.
    pub headers: Vec<String>,
}

/// The compiled document.
pub struct Contract {
    pub doc: Value,
    /// path template → method (lower case) → status → what it requires.
    pub operations: HashMap<String, HashMap<String, HashMap<u16, Expected>>>,
    /// Any path the API does not serve.
    pub not_found: Expected,
    /// A served path with a method it does not serve.
    pub method_not_allowed: Expected,
    /// CORS preflights, allowed and refused.
    pub preflight_ok: Expected,
    pub preflight_refused: Expected,
}

/// Follows a local `$ref` (`#/components/...`) of `doc`, if `v` is one.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap_or(r);
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r} in the OpenAPI document"))
        }
        None => v,
    }
}

fn compile(doc: &Value, response: &Value, location: String) -> Expected {
    let response = resolve(doc, response);
    let content = response
        .get("content")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{location}: a response without content"));
    let media_types: Vec<String> = content.keys().cloned().collect();
    let validator = content.get("application/json").map(|media| {
        let schema = media
            .get("schema")
            .unwrap_or_else(|| panic!("{location}: JSON without a schema"));
        // The schema's `$ref`s point into the document: give it the document's components.
        let mut root = schema.clone();
        let Value::Object(map) = &mut root else {
            panic!("{location}: the schema is not an object");
        };
        map.insert("components".into(), doc["components"].clone());
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{location}: schema does not compile: {e}"))
    });
    let headers = response
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| h.keys().cloned().collect())
        .unwrap_or_default();
    Expected {
        location,
        media_types,
        validator,
        headers,
    }
}

impl Contract {
    /// The contract of this build, compiled once.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let doc = serde_json::to_value(visitord::http::reference::document::document())
                .expect("the OpenAPI document serializes");
            Contract::compile(doc)
        })
    }

    fn compile(doc: Value) -> Contract {
        let mut operations = HashMap::new();
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let mut methods = HashMap::new();
            for (method, op) in item.as_object().expect("path item") {
                let mut statuses = HashMap::new();
                for (status, response) in op["responses"].as_object().expect("responses") {
                    let code: u16 = status.parse().expect("numeric status");
                    let location = format!("{} {path} → {status}", method.to_uppercase());
                    statuses.insert(code, compile(&doc, response, location));
                }
                methods.insert(method.clone(), statuses);
            }
            operations.insert(path.clone(), methods);
        }
        let named = |name: &str| {
            compile(
                &doc,
                &serde_json::json!({ "$ref": format!("#/components/responses/{name}") }),
                format!("components/responses/{name}"),
            )
        };
        Contract {
            not_found: named("NotFound"),
            method_not_allowed: named("MethodNotAllowed"),
            preflight_ok: named("CorsPreflight"),
            preflight_refused: named("CorsRefused"),
            operations,
            doc,
        }
    }

    /// What a response to `method` on the route `template` (None: no route matched) with
    /// `status` must be; `Err` when the document does not list that status there.
    pub fn expected(
        &self,
        method: &str,
        template: Option<&str>,
        preflight: bool,
        status: u16,
    ) -> Result<&Expected, String> {
        if preflight {
            return match status {
                200 => Ok(&self.preflight_ok),
                403 => Ok(&self.preflight_refused),
                _ => Err(format!("a CORS preflight answered {status}")),
            };
        }
        let Some(template) = template else {
            return match status {
                404 => Ok(&self.not_found),
                _ => Err(format!(
                    "{method} on an unrouted path answered {status}, not the documented 404"
                )),
            };
        };
        let methods = self
            .operations
            .get(template)
            .ok_or_else(|| format!("the route {template} is not in the OpenAPI document"))?;
        let Some(statuses) = methods.get(&method.to_ascii_lowercase()) else {
            return match status {
                405 => Ok(&self.method_not_allowed),
                _ => Err(format!(
                    "{method} {template} is not documented and answered {status}, not 405"
                )),
            };
        };
        statuses.get(&status).ok_or_else(|| {
            let mut documented: Vec<_> = statuses.keys().collect();
            documented.sort();
            format!("{method} {template} answered {status}, documented: {documented:?}")
        })
    }

    /// Checks one response; `Err` says what is wrong.
    pub fn check(
        &self,
        method: &str,
        template: Option<&str>,
        preflight: bool,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let expected = self.expected(method, template, preflight, status)?;
        let at = &expected.location;
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !expected.media_types.iter().any(|m| m == content_type) {
            return Err(format!(
                "{at}: Content-Type {content_type:?}, documented {:?}",
                expected.media_types
            ));
        }
        for name in &expected.headers {
            if !headers.contains_key(name.as_str()) {
                return Err(format!("{at}: no {name} header"));
            }
        }
        let Some(validator) = (content_type == "application/json")
            .then_some(())
            .and(expected.validator.as_ref())
        else {
            return Ok(());
        };
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            format!(
                "{at}: body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body)
            )
        })?;
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{at}: the body does not match the document:\n  {}\nbody: {value}",
                errors.join("\n  ")
            ))
        }
    }
}

impl Contract {
    /// The documented path template `path` (query string ignored) falls under, as actix matches
    /// plain paths: literal segments equal, `{name}` any one non-empty segment.
    pub fn template_of(&self, path: &str) -> Option<&str> {
        let path = requote(path.split('?').next().unwrap_or(path));
        let segments: Vec<&str> = path.split('/').collect();
        self.operations.keys().map(String::as_str).find(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(p, s)| {
                    if p.starts_with('{') && p.ends_with('}') {
                        !s.is_empty()
                    } else {
                        p == s
                    }
                })
        })
    }
}

/// The path as actix's router matches it: percent-escapes decoded, except those of `/`, `%`
/// and `+` (which would change the path's meaning).
fn requote(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) if !matches!(b, b'/' | b'%' | b'+') => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks a response of the in-process app (`actix_web::test`), panicking with the reason when
/// the document does not describe it. `preflight`: the request was a CORS preflight.
pub fn check_response(
    method: &str,
    template: Option<&str>,
    preflight: bool,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) {
    if let Err(why) = Contract::get().check(method, template, preflight, status, headers, body) {
        panic!("response outside the API contract: {why}");
    }
}
