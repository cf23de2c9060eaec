use super::*;

#[test]
fn suggests_the_nearest_key() {
    assert_eq!(
        unknown_key_message("temprature"),
        "unknown agent attribute `temprature`; did you mean `temperature`?"
    );
    assert_eq!(
        unknown_key_message("max_token"),
        "unknown agent attribute `max_token`; did you mean `max_tokens`?"
    );
    assert!(unknown_key_message("colour").contains("expected one of"));
}

/// The struct `#[agent(<attribute>)] struct A;` as the macro models it.
fn model(attribute: &str) -> (AgentModel, String) {
    let mut errors = Errors::default();
    let pairs = crate::attr::parse_pairs(attribute.parse().unwrap(), &mut errors);
    let item = syn::parse_quote!(
        struct A;
    );
    let m = AgentModel::from_pairs(item, pairs, &mut errors);
    (m, errors.to_compile_errors().to_string())
}

#[test]
fn every_sampling_setting_is_a_key_read_as_its_kind() {
    let (m, _) = model("");
    let names: Vec<&str> = m.sampling().iter().map(|(s, _)| s.name).collect();
    let table: Vec<&str> = SAMPLING.iter().map(|s| s.name).collect();
    assert_eq!(names, table, "`sampling()` follows the table");
    for setting in SAMPLING {
        let (m, errors) = model(&format!("{} = 1", setting.name));
        assert_eq!(errors, "", "{}", setting.name);
        let given = m
            .sampling()
            .into_iter()
            .find(|(s, _)| s.name == setting.name);
        let kind = match given {
            Some((_, Some(Given::Float(_)))) => settings::Kind::Float,
            Some((_, Some(Given::Whole(_)))) => settings::Kind::Whole,
            _ => panic!("`{}` was not read", setting.name),
        };
        assert_eq!(kind, setting.kind, "{}", setting.name);
    }
}

#[test]
fn the_keys_keep_their_order() {
    let keys: Vec<&str> = keys().collect();
    assert_eq!(keys[..4], ["model", "input", "output", "temperature"]);
    assert_eq!(keys.last(), Some(&"require_call"));
    assert_eq!(keys.len(), 31);
}

#[test]
fn the_instructions_stop_at_the_doc_comments_first_heading() {
    let item: syn::ItemStruct = syn::parse_quote!(
        /// Write a short reply.
        ///
        /// ```text
        /// # not a heading inside a code block
        /// ```
        /// Keep #hashtags and #1 as they are.
        ///
        ///     # an indented code line, not a heading
        ///
        /// # Notes
        ///
        /// For the code's readers: `repeat_penalty` stops loops.
        struct A;
    );
    assert_eq!(
        doc_comment(&item),
        "Write a short reply.\n\n```text\n# not a heading inside a code block\n```\nKeep #hashtags and #1 as they are.\n\n    # an indented code line, not a heading"
    );
    let only_notes: syn::ItemStruct = syn::parse_quote!(
        /// # Notes
        /// Nothing before the heading.
        struct B;
    );
    assert_eq!(doc_comment(&only_notes), "");
}
