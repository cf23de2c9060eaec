use super::*;

#[test]
fn kinds_say_whose_fault_it_was() {
    assert_eq!(Error::NoBackend.kind(), ErrorKind::Configuration);
    let truncated = Error::Truncated {
        agent: "Draft".into(),
        max_tokens: 8,
        partial: "{".into(),
    };
    assert_eq!(truncated.kind(), ErrorKind::ModelOutput);
    assert_eq!(truncated.agent(), Some("Draft"));
    let overflow = Error::ContextOverflow {
        agent: "Draft".into(),
        model: "m".into(),
        prompt_tokens: 3000,
        max_tokens: 64,
        context: 2048,
        fields: vec![FieldTokens {
            field: "body".into(),
            tokens: 2900,
            fitted: false,
        }],
        shortest: None,
    };
    let message = overflow.to_string();
    assert!(message.contains("field `body`: 2900 tokens"), "{message}");
    assert!(message.contains("x-agentkit-fit"), "{message}");
    assert_eq!(overflow.kind(), ErrorKind::Input);
    let tool = Error::Tool {
        tool: "fetch".into(),
        source: "refused".into(),
    };
    assert_eq!(tool.kind(), ErrorKind::Tool);
    assert!(std::error::Error::source(&tool).is_some());
    assert_eq!(tool.agent(), None);
}
