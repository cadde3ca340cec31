//! `--p0f-db PATH`: another database replaces the bundled one; a broken one
//! is refused with its line number.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
}

fn capture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scanners/curl.pcap")
}

#[test]
fn custom_database_replaces_the_bundled_one() {
    let dir = std::env::temp_dir().join(format!("p0f-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("custom.fp");
    // curl's Linux SYN: 4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0
    std::fs::write(
        &db,
        "classes = unix\n\n[mtu]\nlabel = test link\nsig = 1500\n\n[tcp:request]\n\
         label = s:unix:TestOS:1.0\nsig = 4:64:0:1460:mss*44,*:mss,sok,ts,nop,ws:df,id+:0\n",
    )
    .unwrap();
    let out = bin()
        .args(["read", "--dedup-ttl", "0", "--p0f-db"])
        .arg(&db)
        .arg(capture())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let syns: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"tcp_syn_fingerprint\""))
        .collect();
    assert!(!syns.is_empty());
    for l in &syns {
        assert!(l.contains("\"p0f_os\":\"TestOS 1.0\""), "{l}");
        assert!(l.contains("\"p0f_match\":\"exact\""), "{l}");
        assert!(l.contains("\"link\":\"test link\""), "{l}");
        assert!(l.contains("\"os_guess\":\"unknown\""), "{l}");
    }
    // The bundled database says something else for the same SYNs.
    let out = bin()
        .args(["read", "--dedup-ttl", "0"])
        .arg(capture())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("TestOS"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn broken_database_names_the_line() {
    let dir = std::env::temp_dir().join(format!("p0f-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("bad.fp");
    std::fs::write(
        &db,
        "classes = unix\n[tcp:request]\nlabel = s:unix:X:\nsig = 4:64:0:*:mss*4,7:mss,bogus:df:0\n",
    )
    .unwrap();
    let out = bin()
        .args(["read", "--p0f-db"])
        .arg(&db)
        .arg(capture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.fp: p0f database line 4: unrecognized TCP option"),
        "{err}"
    );
    let out = bin()
        .args(["read", "--p0f-db", "/nonexistent/p0f.fp"])
        .arg(capture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).ok();
}
