//! Completes the OpenAPI document with the answers every handler shares, so each
//! `#[utoipa::path]` lists only what is particular to it (its success, `404` of its own
//! lookups, `403`, `409`, `412` …).
//!
//! - Every problem is served as `application/problem+json`: a `body = Problem` response is
//!   moved to that media type.
//! - Any operation can answer `500` (an internal error, with an `error_id`) and `503` (the
//!   30-second timeout).
//! - An operation that needs a token answers `401` without a valid one.
//! - An operation with parameters or a body answers `400` when they do not parse (a query
//!   string, a path segment, a header such as `If-Match`, malformed JSON).
//! - An operation with a body answers `413` above the 1 MiB limit, `415` for a media type it
//!   does not read and `422` for a well-formed body with a wrong or missing field.
//! - An operation with query parameters answers `422` for one that parses but is out of range
//!   or names nothing (`extract`'s rule for parameters).
//! - An operation with a path parameter answers `404` when it names nothing.
//! - An operation that reads `If-Match` answers `412` when the version is stale.
//!
//! A JSON body whose every field is optional may be left out: an empty body counts as `{}`
//! (`extract::Write`), so such a request body is marked `required: false`.
//!
//! A header or query parameter is either sent or not: an `Option` in a handler's signature
//! makes it optional (`required: false`), never `null`, so the `null` type utoipa derives
//! from the `Option` is taken out of its schema (a client that sent the text `null` would
//! be refused).

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required, ResponseBuilder};

/// The media type of every error answer (RFC 9457).
pub const PROBLEM: &str = "application/problem+json";

/// Applies the shared answers to every operation of `openapi`.
pub fn complete(openapi: &mut OpenApi) {
    let no_schemas = BTreeMap::new();
    // Disjoint fields: the components are read while the paths are changed.
    let schemas = openapi.components.as_ref().map_or(&no_schemas, |c| &c.schemas);
    for item in openapi.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            complete_operation(op);
            optional_empty_body(op, schemas);
        }
    }
}

/// Marks a JSON request body `required: false` when its schema requires no property: the
/// server reads an empty body as `{}`, which such a schema accepts.
fn optional_empty_body(op: &mut Operation, schemas: &BTreeMap<String, RefOr<Schema>>) {
    let Some(RefOr::T(body)) = op.request_body.as_mut() else { return };
    let Some(RefOr::T(json)) = body.content.get("application/json") else { return };
    let schema = match &json.schema {
        Some(RefOr::Ref(r)) => match r.ref_location.rsplit('/').next().and_then(|name| schemas.get(name)) {
            Some(RefOr::T(schema)) => schema,
            _ => return,
        },
        Some(RefOr::T(schema)) => schema,
        None => return,
    };
    let nothing_required = matches!(schema, Schema::Object(object)
        if object.schema_type == SchemaType::Type(Type::Object) && object.required.is_empty());
    if nothing_required {
        body.required = Some(Required::False);
    }
}

fn complete_operation(op: &mut Operation) {
    // Problems are problem+json, whatever the annotation's default media type.
    for response in op.responses.responses.values_mut() {
        let RefOr::T(response) = response else { continue };
        if let Some(RefOr::T(json)) = response.content.get("application/json")
            && matches!(&json.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"))
        {
            let content = response.content.shift_remove("application/json").expect("present");
            response.content.insert(PROBLEM.to_string(), content);
        }
    }
    for param in op.parameters.iter_mut().flatten() {
        if let RefOr::T(param) = param
            && matches!(param.parameter_in, ParameterIn::Header | ParameterIn::Query)
            && let Some(RefOr::T(Schema::Object(schema))) = &mut param.schema
            && let SchemaType::Array(types) = &schema.schema_type
            && types.contains(&Type::Null)
        {
            let rest: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
            schema.schema_type = match rest.as_slice() {
                [one] => SchemaType::Type(one.clone()),
                _ => SchemaType::Array(rest),
            };
        }
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_in = |place: ParameterIn| {
        params.iter().any(
            |p| matches!(p, RefOr::T(p) if std::mem::discriminant(&p.parameter_in) == std::mem::discriminant(&place)),
        )
    };
    let has_path = has_in(ParameterIn::Path);
    let has_query = has_in(ParameterIn::Query);
    let has_if_match = params.iter().any(|p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("if-match")));
    let has_body = op.request_body.is_some();
    let parses_input = has_body || !params.is_empty();
    // `security(())` (an empty requirement) marks the public operations.
    let secured = match &op.security {
        None => true,
        Some(reqs) => {
            !reqs.is_empty() && !reqs.iter().any(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
        }
    };

    let mut add = |status: &str, description: &str| {
        if !op.responses.responses.contains_key(status) {
            op.responses.responses.insert(status.to_string(), RefOr::T(problem(description)));
        }
    };
    if parses_input {
        add("400", "A parameter, header or body that does not parse");
    }
    if secured {
        add("401", "No valid bearer token");
    }
    if has_path {
        add("404", "Nothing by that name or id (or not visible to the caller)");
    }
    if has_if_match {
        add("412", "`If-Match` names a version the case has moved past");
    }
    if has_body {
        add("413", "The body is over 1 MiB");
        add("415", "A body in a media type this operation does not read");
        add("422", "A field that is wrong or missing");
    }
    if has_query {
        add("422", "A parameter out of range, or naming nothing");
    }
    add("500", "An internal error; quote `error_id` to the operator");
    add("503", "The request took over 30 seconds, or the database is unavailable");
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM, Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem")))))
        .build()
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::*;
    use crate::error::Problem;

    #[utoipa::path(post, path = "/things/{id}", params(("id" = uuid::Uuid, Path),
        ("If-Match" = Option<String>, Header)), request_body = String,
        responses((status = 200, body = String), (status = 409, body = Problem)))]
    #[allow(dead_code)]
    async fn write_thing() {}

    #[utoipa::path(get, path = "/open", security(()), responses((status = 200, body = String)))]
    #[allow(dead_code)]
    async fn public() {}

    #[utoipa::path(get, path = "/things", params(("limit" = Option<u32>, Query)), responses((status = 200, body = String)))]
    #[allow(dead_code)]
    async fn list_things() {}

    #[derive(OpenApi)]
    #[openapi(paths(write_thing, public, list_things), components(schemas(Problem)))]
    struct Doc;

    fn statuses(doc: &serde_json::Value, path: &str, method: &str) -> Vec<String> {
        doc["paths"][path][method]["responses"].as_object().expect("responses").keys().cloned().collect()
    }

    #[test]
    fn every_operation_gets_the_shared_problem_answers_as_problem_json() {
        let mut openapi = Doc::openapi();
        complete(&mut openapi);
        let doc = serde_json::to_value(&openapi).expect("json");
        assert_eq!(
            statuses(&doc, "/things/{id}", "post"),
            ["200", "400", "401", "404", "409", "412", "413", "415", "422", "500", "503"]
        );
        // Query parameters: one out of range is a 422.
        assert_eq!(statuses(&doc, "/things", "get"), ["200", "400", "401", "422", "500", "503"]);
        // A public operation without parameters: only what any request can meet.
        assert_eq!(statuses(&doc, "/open", "get"), ["200", "500", "503"]);
        // The handler's own problem moved to problem+json; the success stays as it was.
        let conflict = &doc["paths"]["/things/{id}"]["post"]["responses"]["409"]["content"];
        assert!(conflict.get(PROBLEM).is_some() && conflict.get("application/json").is_none(), "{conflict}");
        let ok = &doc["paths"]["/things/{id}"]["post"]["responses"]["200"]["content"];
        assert!(ok.get(PROBLEM).is_none(), "{ok}");
        // An optional header is a string when sent, never `null`.
        let if_match = &doc["paths"]["/things/{id}"]["post"]["parameters"][1];
        assert_eq!(
            (&if_match["name"], &if_match["schema"]["type"]),
            (&"If-Match".into(), &"string".into()),
            "{if_match}"
        );
    }
}
