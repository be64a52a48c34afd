//! Repeated `webhook-signature` lines as some HTTP stacks hand them over: one value joined
//! with ", " (Node's `req.headers`, fetch's `Headers.get`). The expected signature is the
//! Standard Webhooks specification's published example, not computed here.

use foreman_webhook::standard::{Headers, StandardWebhook};
use foreman_webhook::{Secret, StandardError};

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
