//! What a backend reports when it fails: a message that says what to do,
//! whether the set-up is at fault, and the cause underneath.

/// A failure inside a backend. The runtime wraps it in
/// [`Error::Backend`](crate::Error::Backend), which names the agent once;
/// the cause (an HTTP client's, llama.cpp's or a validator's error) stays
/// reachable through [`source`](std::error::Error::source).
///
/// ```
/// use agentkit::backend::BackendError;
/// let io = std::io::Error::new(std::io::ErrorKind::Other, "connection reset");
/// let e = BackendError::caused_by("the server hung up", io);
/// assert_eq!(e.to_string(), "the server hung up: connection reset");
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug)]
pub struct BackendError {
    message: String,
    configuration: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BackendError {
    /// A failure of the backend or the machine, described by `message`
    /// (what went wrong and what to do).
    pub fn new(message: impl Into<String>) -> Self {
        BackendError {
            message: message.into(),
            configuration: false,
            source: None,
        }
    }

    /// A mistake in the set-up (a missing API-key variable, a model with no
    /// endpoints, ...): nothing will work until it is fixed, and
    /// [`Error::kind`](crate::Error::kind) says
    /// [`Configuration`](crate::ErrorKind::Configuration).
    pub fn configuration(message: impl Into<String>) -> Self {
        BackendError {
            configuration: true,
            ..BackendError::new(message)
        }
    }

    /// `what` failed because of `cause`: the message is `what: cause`, and
    /// the cause is kept as the [`source`](std::error::Error::source).
    pub fn caused_by(
        what: impl std::fmt::Display,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        BackendError::new(format!("{what}: {cause}")).with_source(cause)
    }

    /// With `cause` kept as the [`source`](std::error::Error::source).
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(cause));
        self
    }

    /// What went wrong and what to do.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the set-up is at fault (see [`BackendError::configuration`]).
    pub fn is_configuration(&self) -> bool {
        self.configuration
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
