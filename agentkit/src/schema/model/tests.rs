//! The schema model: parsing, resolving and what each reader relies on.
use super::*;
use serde_json::json;

#[test]
fn a_struct_parses_into_its_keywords_in_order() {
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Point {
        /// Across.
        x: u8,
        y: Option<f32>,
    }
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Shape {
        points: std::collections::BTreeSet<String>,
        origin: Point,
    }
    let model = SchemaModel::parse(&crate::output_schema::<Shape>());
    let root = model.root().node().expect("an object schema");
    assert_eq!(root.types, [Type::Object]);
    assert_eq!(root.required, ["points", "origin"]);
    assert_eq!(root.additional_properties, Some(Schema::Bool(false)));
    let props = root.properties.as_ref().expect("properties");
    let names: Vec<&str> = props.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["points", "origin"]);
    let points = props[0].1.node().expect("a node");
    assert!(points.unique_items);
    assert_eq!(points.types, [Type::Array]);
    // The one resolver: `$ref` into `$defs`, and `deref` follows it.
    let origin = &props[1].1;
    assert_eq!(
        origin.node().and_then(|n| n.reference.as_deref()),
        Some("#/$defs/Point")
    );
    let point = model.deref(origin).node().expect("the definition");
    let x = point.properties.as_ref().expect("properties")[0].1.node();
    let x = x.expect("a node");
    assert_eq!(x.description.as_deref(), Some("Across."));
    assert_eq!(x.minimum, Some(0.into()));
    assert_eq!(x.maximum, Some(255.into()));
    assert_eq!(model.resolve("#/$defs/Missing"), None);
    assert_eq!(model.resolve("#"), Some(model.root()));
}

#[test]
fn boolean_schemas_and_unknown_types_are_kept() {
    assert_eq!(Schema::parse(&json!(true)), Schema::Bool(true));
    assert_eq!(Schema::parse(&json!(false)), Schema::Bool(false));
    let s = Schema::parse(&json!({ "type": ["string", "null", "decimal"] }));
    let types = s.node().map(|n| n.types.clone()).unwrap_or_default();
    assert_eq!(
        types,
        [Type::String, Type::Null, Type::Other("decimal".into())]
    );
    // What the GBNF writer rejects is kept for it.
    let s = Schema::parse(&json!({ "type": ["string", 5, "null", 6] }));
    let node = s.node().expect("a node");
    assert!(node.types_listed);
    assert_eq!(node.types, [Type::String, Type::Null]);
    assert_eq!(node.type_not_a_name, Some((1, json!(5))));
    let s = Schema::parse(&json!({ "items": 5 }));
    let items = s
        .node()
        .and_then(|n| n.items.as_ref())
        .and_then(Schema::node);
    assert_eq!(items.and_then(|n| n.not_a_schema.clone()), Some(json!(5)));
}
