//! Repeated signature header lines, as HTTP stacks hand them over: several values
//! (`verify_any_header`) or one value joined with ", " (Node's `req.headers`, fetch's
//! `Headers.get`). Expected signatures are published vectors, not computed here: GitHub's
//! `X-Hub-Signature-256` example and the Standard Webhooks specification's example.

use foreman_webhook::standard::{Headers, StandardWebhook};
use foreman_webhook::{verify_any_header, Secret, StandardError, VerifyError};

const BODY: &[u8] = b"Hello, World!";
const KEY: &str = "It's a Secret to Everybody";
const GOOD: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
const OTHER: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn any_valid_foreman_header_line_passes() -> Result<(), Box<dyn std::error::Error>> {
    let key = [Secret::new(KEY)?];
    assert_eq!(verify_any_header(BODY, &[GOOD], &key), Ok(()));
    assert_eq!(verify_any_header(BODY, &[OTHER, GOOD], &key), Ok(()));
    assert_eq!(verify_any_header(BODY, &[GOOD, OTHER], &key), Ok(()));
    assert_eq!(verify_any_header(BODY, &["junk", GOOD], &key), Ok(()));
    assert_eq!(
        verify_any_header(BODY, &[OTHER], &key),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        verify_any_header(BODY, &["junk", OTHER], &key),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        verify_any_header(BODY, &["sha256=zz", "x"], &key),
        Err(VerifyError::WrongLength)
    );
    assert_eq!(
        verify_any_header(BODY, &[], &key),
        Err(VerifyError::MissingPrefix)
    );
    assert_eq!(
        verify_any_header(BODY, &[GOOD], &[]),
        Err(VerifyError::EmptySecret)
    );
    Ok(())
}

// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STD_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const STD_TS: &str = "1614265330";
const STD_BODY: &[u8] = br#"{"test": 2432232314}"#;
const STD_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const STD_OTHER: &str = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn standard(signature: &str) -> Result<(), StandardError> {
    let secret = Secret::from_standard(STD_SECRET).map_err(|_| StandardError::EmptySecret)?;
    let wh = StandardWebhook::new(&[secret])?;
    let headers = Headers {
        id: Some(STD_ID),
        timestamp: Some(STD_TS),
        signature: Some(signature),
    };
    wh.verify(&headers, STD_BODY, 1_614_265_330)
}

#[test]
fn webhook_signature_lines_joined_with_comma_space_pass_in_any_order() {
    assert_eq!(standard(STD_SIG), Ok(()));
    assert_eq!(standard(&format!("{STD_OTHER}, {STD_SIG}")), Ok(()));
    assert_eq!(standard(&format!("{STD_SIG}, {STD_OTHER}")), Ok(()));
    assert_eq!(standard(&format!("{STD_OTHER} {STD_SIG}")), Ok(()));
    assert_eq!(standard(&format!("v1,junk, {STD_SIG}")), Ok(()));
    assert_eq!(
        standard(&format!("{STD_OTHER}, {STD_OTHER}")),
        Err(StandardError::NoMatchingSignature)
    );
    assert_eq!(standard(", , ,"), Err(StandardError::MalformedSignature));
}
