//! NATS credentials and TLS: user/password and token taken from the URL
//! (async-nats itself ignores URL userinfo), and TLS with an extra CA file
//! through rustls' ring provider.

mod bus_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bus_support::{event, wait_until, NatsServer};
use decnet_sniffer::bus::{Bus, BusOptions, BusTarget};
use decnet_sniffer::event::EventKind;

fn options(target: BusTarget) -> BusOptions {
    let mut o = BusOptions::new(target);
    o.reconnect_min = Duration::from_millis(50);
    o.reconnect_max = Duration::from_millis(200);
    o
}

/// Publishes one event; returns whether it reached the server within `wait`.
fn delivers(target: BusTarget, wait: Duration) -> bool {
    let bus = Bus::start(options(target)).unwrap();
    bus.publish(&event(EventKind::TcpSynFingerprint, "decky-01", 1));
    let ok = wait_until(wait, || bus.stats().published == 1);
    bus.shutdown(Duration::from_millis(100));
    ok
}

#[test]
fn user_and_password_from_the_url() {
    let server = NatsServer::start_with(None, &["--user", "alice", "--pass", "s3cret"]);
    let url = |cred: &str| format!("nats://{cred}@127.0.0.1:{}", server.port);
    let good = BusTarget::parse(&url("alice:s3cret")).unwrap();
    assert!(
        !format!("{good:?}").contains("s3cret"),
        "secrets stay out of Debug output"
    );
    assert!(delivers(good, Duration::from_secs(10)));
    assert!(!delivers(
        BusTarget::parse(&url("alice:wrong")).unwrap(),
        Duration::from_secs(1)
    ));
    assert!(!delivers(
        BusTarget::parse(&server.url()).unwrap(),
        Duration::from_secs(1)
    ));
}

#[test]
fn token_from_the_url() {
    let server = NatsServer::start_with(None, &["--auth", "t0ken"]);
    let url = |cred: &str| format!("nats://{cred}@127.0.0.1:{}", server.port);
    assert!(delivers(
        BusTarget::parse(&url("t0ken")).unwrap(),
        Duration::from_secs(10)
    ));
    assert!(!delivers(
        BusTarget::parse(&url("other")).unwrap(),
        Duration::from_secs(1)
    ));
}

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        st.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// A throwaway CA and a server certificate for 127.0.0.1.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=decnet-test-ca",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

#[test]
fn tls_with_an_extra_ca_file() {
    let dir: PathBuf = std::env::temp_dir().join(format!("decnet-bus-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    make_certs(&dir);
    let cert = dir.join("server.pem");
    let key = dir.join("server.key");
    let server = NatsServer::start_with(
        None,
        &[
            "--tls",
            "--tlscert",
            cert.to_str().unwrap(),
            "--tlskey",
            key.to_str().unwrap(),
        ],
    );
    let with_ca = |ca: Option<PathBuf>| {
        let mut t = BusTarget::parse(&format!("tls://127.0.0.1:{}", server.port)).unwrap();
        if let BusTarget::Nats { tls, .. } = &mut t {
            assert!(tls.required);
            tls.ca_file = ca;
        }
        t
    };
    assert!(delivers(
        with_ca(Some(dir.join("ca.pem"))),
        Duration::from_secs(10)
    ));
    assert!(
        !delivers(with_ca(None), Duration::from_secs(1)),
        "unknown CA is refused"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
