//! Signs an event and verifies it, printing what a receiver sees.
//! Run: `cargo run --example sign_verify`
use foreman_webhook::{format_artifacts, verify, Artifact, Event, Secret, Signer, Timestamp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = Secret::new("demo-secret")?;
    let signer = Signer::new(&secret);
    let mut event = Event::new(
        "job-42",
        "succeeded",
        Timestamp::from(std::time::SystemTime::now()),
    );
    event.previous_state = "running".into();
    event.attempt = 1;
    event.artifacts = format_artifacts(
        "job-42",
        &[Artifact::inline("summary.txt", "text/plain", b"all good")],
    );
    let body = event.to_json();
    let header = signer.sign(&body).to_string();
    println!("POST body: {}", String::from_utf8_lossy(&body));
    println!("X-Foreman-Signature: {header}");
    println!("verify(original): {:?}", verify(&body, &header, &secret));
    let mut tampered = body.clone();
    tampered[12] ^= 1;
    println!(
        "verify(tampered): {:?}",
        verify(&tampered, &header, &secret)
    );
    Ok(())
}
