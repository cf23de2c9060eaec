use super::*;
use serde_json::json;

/// The grammar of `schema`, parsed into its model as a request's is.
fn of(schema: &Value) -> Result<String, Unsupported> {
    grammar(&SchemaModel::parse(schema))
}

#[test]
fn objects_are_compact_and_in_order() {
    let s = json!({
        "type": "object",
        "properties": {
            "subject": { "$ref": "#/$defs/Subject" },
            "ok": { "type": "boolean" },
            "n": { "type": "integer", "minimum": 0 },
            "note": { "type": ["string", "null"], "maxLength": 20 },
            "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 3 }
        },
        "required": ["subject", "ok", "n", "tags"],
        "$defs": { "Subject": { "type": "string", "enum": ["a_b", "c\"d"] } }
    });
    let g = of(&s).unwrap();
    assert!(g.starts_with(
        r#"root ::= ("{\"subject\":" def-Subject ",\"ok\":" ("true" | "false") ",\"n\":" natural ",\"note\":" (("\"" char{0,20} "\"") | "null") ",\"tags\":" ("[" (string ("," string){0,2})? "]") "}")"#
    ), "{g}");
    assert!(
        g.contains(r#"def-Subject ::= ("\"a_b\"" | "\"c\\\"d\"")"#),
        "{g}"
    );
    assert!(!g.contains(" ws"), "no whitespace rule: {g}");
}

#[test]
fn agentkit_output_schemas_compile() {
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        x: f64,
    }
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    enum Kind {
        A,
        B(u8),
    }
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Out {
        #[schemars(length(max = 5))]
        list: Vec<Inner>,
        maybe: Option<Inner>,
        kind: Kind,
        map: std::collections::BTreeMap<String, i32>,
        set: std::collections::BTreeSet<String>,
    }
    let schema = agentkit::backend::OutputSchema::of::<Out>();
    let g = grammar(schema.model()).unwrap();
    assert!(g.contains("def-Inner ::= "), "{g}");
    assert!(g.contains("def-Kind ::= "), "{g}");
}

#[test]
fn bounded_naturals_are_exact() {
    assert_eq!(up_to(5), "(([1-4] | \"5\"))");
    assert_eq!(
        up_to(255),
        "([1-9] | [1-9] [0-9]{1} | ([1-1] [0-9]{2} | \"2\" ([0-4] [0-9]{1} | \"5\" ([0-4] | \"5\"))))"
    );
    let g = of(&json!({ "type": "integer", "minimum": 0, "maximum": 65535 })).unwrap();
    assert!(g.starts_with("root ::= (\"0\" | ([1-9] | "), "{g}");
}

#[test]
fn literals_escape_what_gbnf_needs() {
    assert_eq!(
        literal_grammar("{\"a\":\"x\\y\n\"}"),
        "root ::= \"{\\\"a\\\":\\\"x\\\\y\\n\\\"}\"\n"
    );
}

#[test]
fn unsupported_schemas_name_the_place() {
    let e =
        of(&json!({ "type": "object", "properties": { "a": { "type": "date" } } })).unwrap_err();
    assert_eq!(e.location, "#/properties/a");
    assert!(e.reason.contains("date"), "{e:?}");
    let e = of(&json!({ "$ref": "#/$defs/Missing" })).unwrap_err();
    assert!(e.reason.contains("not in `$defs`"), "{e:?}");
}

#[test]
fn what_the_model_keeps_for_this_writer_reads_as_the_json_did() {
    // A list of one type is still a group of one.
    let g = of(&json!({ "type": ["integer"] })).unwrap();
    assert!(g.starts_with("root ::= (integer)\n"), "{g}");
    // What is not a schema, or not a type name, is rejected where it is.
    let e = of(&json!({ "type": "array", "items": 5 })).unwrap_err();
    assert_eq!(
        (e.location.as_str(), e.reason.as_str()),
        ("#/items", "`5` is not a schema")
    );
    let e = of(&json!({ "type": "array", "items": false })).unwrap_err();
    assert_eq!(e.reason, "`false` is not a schema");
    let e = of(&json!({ "type": ["date", 5] })).unwrap_err();
    assert_eq!(e.reason, "unknown type `date`");
    let e = of(&json!({ "type": ["string", 5] })).unwrap_err();
    assert_eq!(e.reason, "type `5` is not a name");
    // A recursive root type refers to `#`, which has no rule of its own.
    let e = of(&json!({ "type": "array", "items": { "$ref": "#" } })).unwrap_err();
    assert_eq!(e.location, "#/items");
    assert_eq!(e.reason, "`$ref` to `#`, which is not in `$defs`");
}
