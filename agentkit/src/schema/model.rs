//! A typed model of an output schema, parsed once per output type.
//!
//! [`SchemaModel::parse`] reads the JSON-schema subset that `schemars`
//! writes (and [`output_schema`](crate::output_schema) closes) into a tree of
//! [`Schema`]s; the definitions under the root's `$defs` are parsed once and
//! looked up by [`SchemaModel::resolve`], the one `$ref` resolver. Every
//! reader of an output schema (the prompt picture, scored choices, partial
//! values, the GBNF writer of `agentkit-backends`) walks this model instead
//! of the JSON.
//!
//! Each keyword is kept as written, so a reader decides which one wins (a
//! `$ref` before a `const` before an `enum` before `oneOf`/`anyOf` before
//! `type`, in every reader today; the GBNF writer tries `anyOf` before
//! `oneOf`, which schemars never writes together). Keywords outside the
//! subset are dropped.
//!
//! # Following `$ref`s
//!
//! A recursive type's schema refers to itself, so a reader that follows
//! every `$ref` would never end. Every reader counts the `$ref`s it has
//! followed on the way to a sub-schema and stops following at
//! [`MAX_REF_DEPTH`]: partial values keep what is written as it is from
//! there, scored choices find no options there, and the prompt picture
//! writes the definition's name ([`SchemaModel::name_of`]). The picture is
//! also bounded by its own nesting (a presentation choice: a `$ref` six
//! levels into the picture is written by name), which ends a recursive
//! type's picture well before this limit.

use serde_json::{Number, Value};

/// How many `$ref`s a reader follows on one path before it stops: far more
/// than any type that does not refer to itself needs, and an end for one
/// that does.
pub const MAX_REF_DEPTH: usize = 32;

/// An output schema and its definitions, parsed from JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaModel {
    root: Schema,
    defs: Vec<(String, Schema)>,
}

/// One schema: `true` (anything), `false` (nothing), or a node of keywords.
#[derive(Debug, Clone, PartialEq)]
pub enum Schema {
    /// A boolean schema: `true` allows any value, `false` none.
    Bool(bool),
    /// A schema object.
    Node(Box<Node>),
}

/// The keywords of a schema object that agentkit reads.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Node {
    /// `$ref`, as written (`#/$defs/Name`, or `#` for the root).
    pub reference: Option<String>,
    /// `const`: the one value allowed.
    pub constant: Option<Value>,
    /// `enum`: the values allowed.
    pub choices: Option<Vec<Value>>,
    /// `oneOf`: exactly one of these holds.
    pub one_of: Option<Vec<Schema>>,
    /// `anyOf`: at least one of these holds.
    pub any_of: Option<Vec<Schema>>,
    /// `allOf`: all of these hold.
    pub all_of: Option<Vec<Schema>>,
    /// `type` (a single type is a list of one); empty when absent.
    pub types: Vec<Type>,
    /// Whether `type` was written as a list (`["string", "null"]`, or
    /// `["string"]`), not as one name.
    pub types_listed: bool,
    /// The first `type` (or entry of its list) that is not a name (`5`), as
    /// written, with how many names of [`types`](Node::types) come before
    /// it. Other readers pass over it; the GBNF writer rejects it.
    pub type_not_a_name: Option<(usize, Value)>,
    /// What was written where a schema belongs when it is neither an object
    /// nor a boolean (`5`): every other keyword is absent, so readers take
    /// it as the empty schema; the GBNF writer rejects it.
    pub not_a_schema: Option<Value>,
    /// `properties`, in the order written (the order the model writes them).
    pub properties: Option<Vec<(String, Schema)>>,
    /// `required`: the properties that must be present.
    pub required: Vec<String>,
    /// `additionalProperties`.
    pub additional_properties: Option<Schema>,
    /// `items`: the schema of every item (after the `prefixItems`).
    pub items: Option<Schema>,
    /// `prefixItems`: the schemas of the first items, in order (a tuple).
    pub prefix_items: Option<Vec<Schema>>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `uniqueItems: true` (a set).
    pub unique_items: bool,
    /// `minimum`.
    pub minimum: Option<Number>,
    /// `maximum`.
    pub maximum: Option<Number>,
    /// `exclusiveMinimum`.
    pub exclusive_minimum: Option<Number>,
    /// `exclusiveMaximum`.
    pub exclusive_maximum: Option<Number>,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `description` (from a doc comment).
    pub description: Option<String>,
    /// `title`.
    pub title: Option<String>,
}

/// A JSON type a schema's `type` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `"null"`.
    Null,
    /// `"boolean"`.
    Boolean,
    /// `"object"`.
    Object,
    /// `"array"`.
    Array,
    /// `"number"`.
    Number,
    /// `"integer"`.
    Integer,
    /// `"string"`.
    String,
    /// A name JSON schema does not define, kept as written.
    Other(String),
}

impl Type {
    fn parse(name: &str) -> Type {
        match name {
            "null" => Type::Null,
            "boolean" => Type::Boolean,
            "object" => Type::Object,
            "array" => Type::Array,
            "number" => Type::Number,
            "integer" => Type::Integer,
            "string" => Type::String,
            other => Type::Other(other.to_string()),
        }
    }

    /// The name as `type` writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Type::Null => "null",
            Type::Boolean => "boolean",
            Type::Object => "object",
            Type::Array => "array",
            Type::Number => "number",
            Type::Integer => "integer",
            Type::String => "string",
            Type::Other(name) => name,
        }
    }

    /// Whether `value` is of this type.
    pub fn admits(&self, value: &Value) -> bool {
        match self {
            Type::Object => value.is_object(),
            Type::Array => value.is_array(),
            Type::String => value.is_string(),
            Type::Integer => value.is_i64() || value.is_u64(),
            Type::Number => value.is_number(),
            Type::Boolean => value.is_boolean(),
            Type::Null => value.is_null(),
            Type::Other(_) => false,
        }
    }
}

impl SchemaModel {
    /// The model of `schema`, with its `$defs`.
    pub fn parse(schema: &Value) -> SchemaModel {
        let defs = match schema.get("$defs") {
            Some(Value::Object(defs)) => defs
                .iter()
                .map(|(name, def)| (name.clone(), Schema::parse(def)))
                .collect(),
            _ => Vec::new(),
        };
        SchemaModel {
            root: Schema::parse(schema),
            defs,
        }
    }

    /// The root schema.
    pub fn root(&self) -> &Schema {
        &self.root
    }

    /// The schema a `$ref` names: `#` is the root, and any other reference
    /// names a definition under the root's `$defs` by its last segment
    /// (`#/$defs/Name`), which is where schemars puts every definition.
    /// `None` when there is no such definition.
    pub fn resolve(&self, reference: &str) -> Option<&Schema> {
        if reference == "#" {
            return Some(&self.root);
        }
        let name = ref_name(reference);
        self.defs.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// The name a `$ref` gives its target, for a reader that does not follow
    /// it: the definition's name, or for `#` the root's `title` (`#` when it
    /// has none).
    pub fn name_of<'a>(&'a self, reference: &'a str) -> &'a str {
        match (reference, &self.root) {
            ("#", Schema::Node(root)) => root.title.as_deref().unwrap_or(reference),
            _ => ref_name(reference),
        }
    }

    /// `schema` with its `$ref` followed once, or `schema` itself when it has
    /// none or names no definition.
    pub fn deref<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        schema
            .node()
            .and_then(|n| n.reference.as_deref())
            .and_then(|r| self.resolve(r))
            .unwrap_or(schema)
    }
}

/// The name a `$ref` gives its target: its last segment (`#/$defs/Name` →
/// `Name`).
pub fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

impl Schema {
    /// The model of one schema (its `$defs`, if any, are not read: see
    /// [`SchemaModel::parse`]).
    pub fn parse(schema: &Value) -> Schema {
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(allowed) => return Schema::Bool(*allowed),
            // Allows everything, as a missing keyword does; kept as written.
            other => {
                return Schema::Node(Box::new(Node {
                    not_a_schema: Some(other.clone()),
                    ..Node::default()
                }))
            }
        };
        let list = |key: &str| match map.get(key) {
            Some(Value::Array(list)) => Some(list.iter().map(Schema::parse).collect()),
            _ => None,
        };
        let one = |key: &str| map.get(key).map(Schema::parse);
        let count = |key: &str| map.get(key).and_then(Value::as_u64);
        let number = |key: &str| match map.get(key) {
            Some(Value::Number(n)) => Some(n.clone()),
            _ => None,
        };
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
        let mut types = Vec::new();
        let mut type_not_a_name = None;
        let written: &[Value] = match map.get("type") {
            Some(Value::Array(ts)) => ts,
            Some(one) => std::slice::from_ref(one),
            None => &[],
        };
        for t in written {
            match t.as_str() {
                Some(name) => types.push(Type::parse(name)),
                None if type_not_a_name.is_none() => {
                    type_not_a_name = Some((types.len(), t.clone()));
                }
                None => {}
            }
        }
        let properties = match map.get("properties") {
            Some(Value::Object(props)) => Some(
                props
                    .iter()
                    .map(|(name, prop)| (name.clone(), Schema::parse(prop)))
                    .collect(),
            ),
            _ => None,
        };
        let required = match map.get("required") {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        Schema::Node(Box::new(Node {
            reference: text("$ref"),
            constant: map.get("const").cloned(),
            choices: map.get("enum").and_then(Value::as_array).cloned(),
            one_of: list("oneOf"),
            any_of: list("anyOf"),
            all_of: list("allOf"),
            types,
            types_listed: matches!(map.get("type"), Some(Value::Array(_))),
            type_not_a_name,
            not_a_schema: None,
            properties,
            required,
            additional_properties: one("additionalProperties"),
            items: one("items"),
            prefix_items: list("prefixItems"),
            min_items: count("minItems"),
            max_items: count("maxItems"),
            unique_items: map.get("uniqueItems") == Some(&Value::Bool(true)),
            minimum: number("minimum"),
            maximum: number("maximum"),
            exclusive_minimum: number("exclusiveMinimum"),
            exclusive_maximum: number("exclusiveMaximum"),
            min_length: count("minLength"),
            max_length: count("maxLength"),
            description: text("description"),
            title: text("title"),
        }))
    }

    /// The keywords, unless this is a boolean schema.
    pub fn node(&self) -> Option<&Node> {
        match self {
            Schema::Node(node) => Some(node),
            Schema::Bool(_) => None,
        }
    }
}

impl Node {
    /// `oneOf`, or else `anyOf`: the alternatives, when there are any.
    pub fn alternatives(&self) -> Option<&[Schema]> {
        self.one_of.as_deref().or(self.any_of.as_deref())
    }

    /// Whether `name` is a required property.
    pub fn requires(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }
}

#[cfg(test)]
mod tests;
