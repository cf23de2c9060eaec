use super::*;

fn models(text: &str) -> Vec<(String, String)> {
    match Manifest::parse(text) {
        Ok(m) => m
            .models()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, v)| (a.to_string(), v.to_string()))
        .collect()
}

fn error(text: &str) -> ManifestError {
    match Manifest::parse(text) {
        Ok(m) => panic!("parsed {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn keeps_declaration_order_and_skips_comments() {
    let text = "# Models.\n\n[models] # the only table\n# screen first\nscreen = \"smollm2-135m\" # built in\njudge = \"screen\"\nbig = \"models/a.gguf\"\n";
    assert_eq!(
        models(text),
        pairs(&[
            ("screen", "smollm2-135m"),
            ("judge", "screen"),
            ("big", "models/a.gguf")
        ])
    );
}

#[test]
fn a_hash_inside_a_quoted_path_is_not_a_comment() {
    assert_eq!(
        models("[models]\njudge = \"models/run #2/judge.gguf\" # comment\n"),
        pairs(&[("judge", "models/run #2/judge.gguf")])
    );
}

#[test]
fn single_quoted_strings_are_literal() {
    assert_eq!(
        models("[models]\n'judge' = 'C:\\models\\judge.gguf'\n"),
        pairs(&[("judge", "C:\\models\\judge.gguf")])
    );
}

#[test]
fn spaces_inside_the_table_header() {
    assert_eq!(
        models("[ models ]\nscreen = \"smollm2-135m\"\n"),
        pairs(&[("screen", "smollm2-135m")])
    );
}

#[test]
fn empty_manifest_declares_nothing() {
    assert_eq!(models("# nothing yet\n"), pairs(&[]));
    assert_eq!(models("[models]\n"), pairs(&[]));
}

#[test]
fn lookup_by_alias() {
    let m = Manifest::parse("[models]\nscreen = \"smollm2-135m\"\n").unwrap();
    assert_eq!(m.get("screen"), Some("smollm2-135m"));
    assert_eq!(m.get("judge"), None);
    assert_eq!(m.aliases().collect::<Vec<_>>(), ["screen"]);
}

#[test]
fn syntax_error_gives_line_and_column() {
    let e = error("[models]\nscreen = \"smollm2-135m\"\njudge \"smollm2-135m\"\n");
    assert_eq!((e.line(), e.column()), (3, 7), "{e}");
    assert!(e.message().starts_with("not valid TOML: "), "{e}");
    assert!(e.message().contains("`alias = \"model or path\"`"), "{e}");
    assert!(e.to_string().starts_with("line 3, column 7: "), "{e}");
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn unquoted_value_is_an_error_at_the_value() {
    let e = error("[models]\nscreen = smollm2\n");
    assert_eq!((e.line(), e.column()), (2, 10), "{e}");
}

#[test]
fn value_of_the_wrong_type_says_to_quote_it() {
    let e = error("[models]\nscreen = 3\n");
    assert_eq!((e.line(), e.column()), (2, 10), "{e}");
    assert_eq!(
        e.message(),
        "the value of alias `screen` is an integer, not a string: quote it, \
         e.g. `screen = \"models/model.gguf\"`"
    );
    let e = error("models = 'x'\n");
    assert_eq!((e.line(), e.column()), (1, 10), "{e}");
    assert!(e.message().ends_with("each value a quoted string"), "{e}");
}

#[test]
fn an_alias_with_a_dot_must_be_quoted() {
    let e = error("[models]\nqwen-1.5b = \"q.gguf\"\n");
    assert_eq!((e.line(), e.column()), (2, 1), "{e}");
    assert_eq!(
        e.message(),
        "TOML reads `qwen-1.5b` as the dotted key `qwen-1`.`5b`: quote an alias that holds \
         a dot, e.g. `\"qwen-1.5b\" = \"models/model.gguf\"`"
    );
    let e = error("[models.judge]\npath = \"j.gguf\"\n[models.x]\n");
    assert!(e.message().contains("not `[models.judge]` tables"), "{e}");
    assert_eq!(
        models("[models]\n\"qwen-1.5b\" = \"q.gguf\"\n"),
        pairs(&[("qwen-1.5b", "q.gguf")])
    );
}

#[test]
fn unknown_table_suggests_models() {
    let e = error("# models\n[model]\nscreen = \"smollm2-135m\"\n");
    assert_eq!((e.line(), e.column()), (2, 2), "{e}");
    assert_eq!(
        e.message(),
        "unknown table `[model]`; did you mean `[models]`? The manifest holds one table, \
         `[models]`, of `alias = \"model or path\"` lines"
    );
}

#[test]
fn unrelated_table_and_stray_key_are_named() {
    let e = error("[models]\na = \"b\"\n[backends]\nx = 1\n");
    assert_eq!((e.line(), e.column()), (3, 2), "{e}");
    assert!(
        e.message()
            .starts_with("unknown table `[backends]`: the manifest holds one table"),
        "{e}"
    );
    let e = error("screen = \"smollm2-135m\"\n[models]\n[backends]\n");
    assert_eq!((e.line(), e.column()), (1, 1), "{e}");
    assert!(
        e.message()
            .starts_with("unknown key `screen` outside `[models]`: put"),
        "{e}"
    );
}

#[test]
fn empty_alias_and_empty_value_are_errors() {
    let e = error("[models]\nscreen = \"smollm2-135m\"\n\"\" = \"smollm2-135m\"\n");
    assert_eq!((e.line(), e.column()), (3, 1), "{e}");
    assert!(e.message().starts_with("empty alias"), "{e}");
    let e = error("[models]\njudge = ''\n");
    assert_eq!((e.line(), e.column()), (2, 9), "{e}");
    assert!(
        e.message().starts_with("alias `judge` has an empty value"),
        "{e}"
    );
}

#[test]
fn duplicate_alias_is_an_error() {
    let e = error("[models]\na = \"x\"\na = \"y\"\n");
    assert_eq!(e.line(), 3, "{e}");
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("agentkit-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("agentkit.toml");
    std::fs::write(&path, "[models]\nscreen = smollm2\n").unwrap();
    let e = Manifest::load(&path).unwrap_err();
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2:10: ", path.display())),
        "{e}"
    );
    std::fs::write(&path, "[models]\nscreen = 'smollm2-135m'\n").unwrap();
    assert_eq!(
        Manifest::load(&path).unwrap().get("screen"),
        Some("smollm2-135m")
    );

    let missing = dir.join("missing.toml");
    let e = Manifest::load(&missing).unwrap_err();
    assert_eq!((e.line(), e.column()), (0, 0));
    assert!(
        e.to_string().starts_with(&format!(
            "{}: cannot read the model manifest: ",
            missing.display()
        )),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn served_aliases_keep_their_endpoints_and_their_place() {
    let text = "[models]\nscreen = \"smollm2-135m\"\njudge = { endpoints = [\n  { url = \"http://127.0.0.1:8080\", model = \"smollm2\", api_key_env = \"JUDGE_KEY\", timeout_s = 30 },\n  { url = \"https://gpu.example.invalid\", model = \"qwen\" },\n] }\nfinal = \"judge\"\n";
    let m = Manifest::parse(text).unwrap();
    assert_eq!(
        m.aliases().collect::<Vec<_>>(),
        ["screen", "judge", "final"]
    );
    assert_eq!(
        models(text),
        pairs(&[("screen", "smollm2-135m"), ("final", "judge")])
    );
    let Some((_, Model::Served(endpoints))) = m.entries().nth(1) else {
        panic!("{m:?}")
    };
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[0].url, "http://127.0.0.1:8080");
    assert_eq!(endpoints[0].model, "smollm2");
    assert_eq!(endpoints[0].api_key_env.as_deref(), Some("JUDGE_KEY"));
    assert_eq!(endpoints[0].timeout_s, Some(30.0));
    assert_eq!(endpoints[1].timeout_s, None);
    // The header form means the same.
    let m =
        Manifest::parse("[models.judge]\nendpoints = [{ url = \"http://h:1\", model = \"m\" }]\n")
            .unwrap();
    assert!(matches!(
        m.entries().next(),
        Some(("judge", Model::Served(_)))
    ));
}

#[test]
fn served_alias_mistakes_are_named() {
    let e = error("[models]\njudge = { endpoints = [] }\n");
    assert_eq!((e.line(), e.column()), (2, 9), "{e}");
    assert!(
        e.message().starts_with("alias `judge` has no endpoints"),
        "{e}"
    );
    let e =
        error("[models]\njudge = { endpoints = [{ url = \"127.0.0.1:8080\", model = \"m\" }] }\n");
    assert!(e.message().contains("must start with `http://`"), "{e}");
    let e = error("[models]\njudge = { endpoints = [{ url = \"http://h\", model = \"m\", api_key = \"sk\" }] }\n");
    assert!(e.message().contains("unknown field `api_key`"), "{e}");
    let e = error("[models]\njudge = { endpoints = [{ url = \"http://h\" }] }\n");
    assert!(e.message().contains("missing field `model`"), "{e}");
    let e = error("[models]\njudge = { endpoints = [{ url = \"http://h\", model = \"m\", timeout_s = 0 }] }\n");
    assert!(e.message().contains("timeout_s = 0"), "{e}");
}

#[test]
fn suggestions_follow_the_macro_threshold() {
    assert_eq!(suggest("model", TABLES.iter().copied()), Some("models"));
    assert_eq!(suggest("modles", TABLES.iter().copied()), Some("models"));
    assert_eq!(suggest("backends", TABLES.iter().copied()), None);
}

#[test]
fn chat_template_kwargs_ride_with_local_and_served_aliases() {
    let text = "[models]\nthink = { model = \"models/qwen3.gguf\", chat_template_kwargs = { enable_thinking = false, style = \"brief\" } }\nplain = \"think\"\njudge = { endpoints = [{ url = \"http://h:1\", model = \"m\" }], chat_template_kwargs = { enable_thinking = true } }\n";
    let m = Manifest::parse(text).unwrap();
    assert_eq!(
        models(text),
        pairs(&[("think", "models/qwen3.gguf"), ("plain", "think")])
    );
    let kwargs = m.chat_template_kwargs("think");
    assert_eq!(
        kwargs.get("enable_thinking"),
        Some(&toml::Value::Boolean(false))
    );
    assert_eq!(kwargs.get("style").and_then(|v| v.as_str()), Some("brief"));
    assert!(m.chat_template_kwargs("plain").is_empty());
    assert!(m.chat_template_kwargs("nobody").is_empty());
    assert_eq!(
        m.chat_template_kwargs("judge").get("enable_thinking"),
        Some(&toml::Value::Boolean(true))
    );
}

#[test]
fn local_table_mistakes_are_named() {
    let e = error("[models]\nthink = { model = \"a.gguf\", chat_template_kwarg = { x = 1 } }\n");
    assert!(
        e.message().contains("unknown field `chat_template_kwarg`"),
        "{e}"
    );
    assert!(e.message().contains("chat_template_kwargs = {"), "{e}");
    let e = error("[models]\nthink = { model = \"a.gguf\", chat_template_kwargs = 3 }\n");
    assert!(e.message().starts_with("alias `think`"), "{e}");
    let e = error("[models]\nthink = { path = \"a.gguf\" }\n");
    assert!(e.message().contains("has `path`"), "{e}");
    let e = error("[models]\nthink = { name = \"a.gguf\", x = 1 }\n");
    assert!(
        e.message().contains("without `model` or `endpoints`"),
        "{e}"
    );
    let e = error("[models]\nthink = { model = \" \" }\n");
    assert!(e.message().contains("has an empty value"), "{e}");
}
