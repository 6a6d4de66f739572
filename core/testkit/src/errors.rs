//! Assertions on the engine's errors: the group, the variant and the HRESULT together.

use wspc::{Error, HResult, Misuse};

/// `r` failed with `Misuse::InvalidState` (`E_INVALID_PROTOCOL_OPERATION`).
pub fn invalid_state<T: core::fmt::Debug>(r: Result<T, Error>) {
    let e = r.expect_err("expected InvalidState");
    assert!(matches!(e, Error::Misuse(Misuse::InvalidState(_))), "{e:?}");
    assert_eq!(e.hresult(), HResult::E_INVALID_PROTOCOL_OPERATION);
}

/// `r` failed with `Misuse::InvalidArgument` (`E_INVALIDARG`).
pub fn invalid_argument<T: core::fmt::Debug>(r: Result<T, Error>) {
    let e = r.expect_err("expected InvalidArgument");
    assert!(
        matches!(e, Error::Misuse(Misuse::InvalidArgument(_))),
        "{e:?}"
    );
    assert_eq!(e.hresult(), HResult::E_INVALIDARG);
}
