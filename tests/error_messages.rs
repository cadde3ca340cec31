//! Issue 19: damaged, endless and hostile inputs, and careless output
//! paths. Every error and warning the real binary prints is one line of at
//! most 300 characters, free of control characters, naming the file and
//! where (byte offset and block, or line and column) with the reason in
//! words; the exit status says whether the run failed; memory stays
//! bounded (peak RSS of the child); and no output file ever loses a byte.

mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::*;

/// Longest line allowed on stderr.
const MAX_LINE: usize = 300;
/// Peak RSS allowed for any of these runs (the unbounded reads this issue
/// fixed reached 2.1 GB).
const MAX_RSS_KIB: i64 = 64 * 1024;

struct Outcome {
    status: i32,
    stderr: String,
    rss_kib: i64,
}

/// Runs the binary with `args` in `dir`; stdout discarded.
// The child is reaped by `wait4` (for its own rusage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn sniffer(dir: &Path, args: &[&std::ffi::OsStr]) -> Outcome {
    let err_path = dir.join(format!("stderr-{:?}", std::thread::current().id()));
    let child = Command::new(env!("CARGO_BIN_EXE_decnet-sniffer"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let (status, rss_kib) = wait4(child.id() as i32);
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    Outcome {
        status,
        stderr,
        rss_kib,
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// `read FILE --json /dev/null --no-progress EXTRA...`
fn read(dir: &Path, file: &Path, extra: &[&str]) -> Outcome {
    let mut args = vec![os("read"), file.as_os_str(), os("--json"), os("/dev/null")];
    args.push(os("--no-progress"));
    args.extend(extra.iter().map(|s| os(s)));
    sniffer(dir, &args)
}

/// The three properties, for every line of `stderr`, plus bounded memory;
/// returns the lines.
fn check_lines<'a>(what: &str, o: &'a Outcome, names: &str) -> Vec<&'a str> {
    assert!(
        o.rss_kib <= MAX_RSS_KIB,
        "{what}: peak RSS {} KiB over {MAX_RSS_KIB}",
        o.rss_kib
    );
    let lines: Vec<&str> = o.stderr.lines().collect();
    for l in &lines {
        assert!(
            l.chars().count() <= MAX_LINE,
            "{what}: line of {} chars: {l}",
            l.len()
        );
        assert!(
            !l.chars().any(char::is_control),
            "{what}: control character in {l:?}"
        );
        assert!(l.contains(names), "{what}: {names:?} not named in {l:?}");
    }
    lines
}

/// A failure: non-zero status and exactly one line naming `names` and
/// holding each of `words`.
fn check_error(what: &str, o: &Outcome, names: &str, words: &[&str]) {
    let lines = check_lines(what, o, names);
    assert_ne!(o.status, 0, "{what}: succeeded; stderr {:?}", o.stderr);
    assert_eq!(lines.len(), 1, "{what}: not one line: {:?}", o.stderr);
    for w in words {
        assert!(lines[0].contains(w), "{what}: {w:?} not in {:?}", lines[0]);
    }
}

/// A number follows `word` in `line` (a byte offset, a line number).
fn has_position(line: &str, word: &str) -> bool {
    line.split(word)
        .skip(1)
        .any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

// ---------------------------------------------------------------- captures

/// Every prefix of a small classic pcap and a small pcapng: each run ends
/// with no message (a prefix ending between blocks), one warning with the
/// byte offset of the cut record (status 0), or one error naming the file
/// and the reason (status 1).
#[test]
fn captures_truncated_at_every_offset() {
    let dir = scratch("errmsg-trunc");
    let mut outcomes = [0usize; 3];
    for (name, src) in [
        ("t.pcap", foxio_pcap("tls12.pcap")),
        ("t.pcapng", foxio_pcap("dhcp.pcapng")),
    ] {
        let data = std::fs::read(&src).unwrap();
        // Two children at a time (the machine is shared).
        let counts = std::thread::scope(|s| {
            let halves: Vec<_> = (0..2)
                .map(|half| {
                    let (dir, data) = (&dir, &data);
                    s.spawn(move || {
                        let sub = dir.join(format!("{name}-{half}"));
                        std::fs::create_dir_all(&sub).unwrap();
                        let file = sub.join(name);
                        let mut counts = [0usize; 3];
                        for cut in (half..data.len()).step_by(2) {
                            std::fs::write(&file, &data[..cut]).unwrap();
                            let o = read(&sub, Path::new(name), &[]);
                            let what = format!("{name} cut at {cut}");
                            let lines = check_lines(&what, &o, name);
                            assert!(lines.len() <= 1, "{what}: {:?}", o.stderr);
                            match (o.status, lines.first()) {
                                (0, None) => counts[0] += 1,
                                (0, Some(l)) => {
                                    assert!(l.contains("warning") && has_position(l, "byte "));
                                    counts[1] += 1;
                                }
                                (1, Some(l)) => {
                                    let words = cut == 0 && l.ends_with("empty file")
                                        || l.contains("header truncated");
                                    assert!(words, "{what}: {l}");
                                    counts[2] += 1;
                                }
                                other => panic!("{what}: {other:?}"),
                            }
                        }
                        counts
                    })
                })
                .collect();
            halves
                .into_iter()
                .map(|h| h.join().unwrap())
                .fold([0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]])
        });
        eprintln!(
            "FIGURES name=truncation file={name} bytes={} clean={} warned={} failed={}",
            data.len(),
            counts[0],
            counts[1],
            counts[2]
        );
        // Every cut inside a record warns; every cut inside the header fails.
        assert!(counts[1] > data.len() / 2 && counts[2] >= 20);
        for i in 0..3 {
            outcomes[i] += counts[i];
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `head` then `junk` bytes of 'A' to `path`, 64 KiB at a time.
fn write_with_junk(path: &Path, head: &[u8], junk: usize) {
    use std::io::Write;
    let mut f = File::create(path).unwrap();
    f.write_all(head).unwrap();
    let chunk = [0x41u8; 64 * 1024];
    let mut left = junk;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
}

/// Damaged block lengths and magic numbers, each with a 1 MiB (or 17 MiB)
/// tail of junk that the old code printed back as a Rust debug list.
#[test]
fn damaged_captures_give_one_line_in_words() {
    let dir = scratch("errmsg-blocks");
    let ng = std::fs::read(foxio_pcap("dhcp.pcapng")).unwrap();
    let shb = u32::from_le_bytes(ng[4..8].try_into().unwrap()) as usize;
    let classic = std::fs::read(foxio_pcap("tls12.pcap")).unwrap();
    let block = |ty: u32, len: u32, tail: usize| {
        let mut v = ng[..shb].to_vec();
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        (v, tail)
    };
    let record = |caplen: u32, tail: usize| {
        let mut v = classic[..24].to_vec();
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&caplen.to_le_bytes());
        v.extend_from_slice(&caplen.to_le_bytes());
        (v, tail)
    };
    let mut bad_order = ng.clone();
    bad_order[8..12].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let mut text = b"GET / HTTP/1.1\r\n\x1b[2J".to_vec();
    text.resize(4096, b'\n');
    // (file, contents, failure expected, words the line must hold)
    // Contents are a head and a length of junk written in chunks, so this
    // process stays small: a spawned child's peak RSS counts its parent's
    // pages until exec.
    type Case<'a> = (&'a str, (Vec<u8>, usize), bool, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "zero-len.pcapng",
            block(6, 0, 1 << 20),
            true,
            vec!["byte 28", "block 2", "length"],
        ),
        (
            "eight-len.pcapng",
            block(6, 8, 1 << 20),
            true,
            vec!["byte 28", "block 2"],
        ),
        (
            "huge-len.pcapng",
            block(6, 0xffff_fff0, 17 << 20),
            true,
            vec!["byte 28", "16 MiB"],
        ),
        (
            "odd-len.pcapng",
            block(6, 33, 1 << 20),
            true,
            vec!["byte 28", "block 2", "overrun"],
        ),
        (
            "huge-caplen.pcap",
            record(0xffff_fff0, 17 << 20),
            true,
            vec!["byte 24", "16 MiB"],
        ),
        (
            "bad-order.pcapng",
            (bad_order, 0),
            true,
            vec!["header truncated or invalid"],
        ),
        (
            "text.pcap",
            (text, 0),
            true,
            vec!["unrecognised magic number 47455420"],
        ),
        ("empty.pcap", (Vec::new(), 0), true, vec!["empty file"]),
    ];
    for (name, (head, junk), fails, words) in cases {
        write_with_junk(&dir.join(name), &head, junk);
        let o = read(&dir, Path::new(name), &[]);
        if fails {
            check_error(name, &o, name, &words);
        } else {
            let lines = check_lines(name, &o, name);
            assert_eq!(o.status, 0, "{name}: {:?}", o.stderr);
            assert_eq!(lines.len(), 1, "{name}: {:?}", o.stderr);
            assert!(
                words.iter().all(|w| lines[0].contains(w)),
                "{name}: {}",
                lines[0]
            );
        }
        eprintln!(
            "FIGURES name=damaged file={name} status={} rss_kib={}",
            o.status, o.rss_kib
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ----------------------------------------------------- files loaded whole

/// Things that are not regular files, or too big, for a file read whole.
fn special_inputs(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let fifo = dir.join("fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = dir.join("big");
    // Sparse: 65 MiB long, nothing stored, nothing read.
    File::create(&big).unwrap().set_len(65 << 20).unwrap();
    vec![
        (PathBuf::from("/dev/zero"), "character device"),
        (fifo, "a FIFO"),
        (dir.to_path_buf(), "a directory"),
        (big, "64 MiB"),
    ]
}

#[test]
fn state_file_damaged_or_endless() {
    let dir = scratch("errmsg-state");
    let pcap = foxio_pcap("tls12.pcap");
    for (path, words) in special_inputs(&dir) {
        let p = path.to_str().unwrap();
        let o = read(&dir, &pcap, &["--state", p]);
        check_error(p, &o, p, &[words]);
    }
    let huge_name = format!(
        r#"{{"config": {{"deckies": [{{"name": "a{}\n\u001b[2J", "ip": "10.0.0.1"}}]}}}}"#,
        "b".repeat(1000)
    );
    let huge_ip = format!(
        r#"{{"config": {{"deckies": [{{"name": "d", "ip": "1.2.3.{}\r\n"}}]}}}}"#,
        "4".repeat(1 << 20)
    );
    let huge_value = format!(r#"{{"config": "{}"}}"#, "\\u001b".repeat(1 << 18));
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "syntax.json",
            b"{\"config\": {\n  \"deckies\": [,]}}".to_vec(),
            vec!["line 2, column"],
        ),
        (
            "name.json",
            huge_name.into_bytes(),
            vec!["decky #0", "more bytes"],
        ),
        (
            "ip.json",
            huge_ip.into_bytes(),
            vec!["decky #0", "not an IP address"],
        ),
        (
            "value.json",
            huge_value.into_bytes(),
            vec!["line 1, column"],
        ),
        (
            "binary.json",
            vec![0xff, 0xfe, 0, 1, 2, b'\n', 0x1b],
            vec!["line 1, column"],
        ),
    ];
    for (name, data, words) in cases {
        std::fs::write(dir.join(name), &data).unwrap();
        let o = read(&dir, &pcap, &["--state", name]);
        check_error(name, &o, name, &words);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn p0f_database_damaged_or_endless() {
    let dir = scratch("errmsg-p0f");
    let pcap = foxio_pcap("tls12.pcap");
    for (path, words) in special_inputs(&dir) {
        let p = path.to_str().unwrap();
        let o = read(&dir, &pcap, &["--p0f-db", p]);
        check_error(p, &o, p, &[words]);
    }
    let long_class = format!(
        "classes = win\n[tcp:request]\nlabel = s:{}:W:1\n",
        "x".repeat(1 << 20)
    );
    let section = format!("\n\n[\x1b[2J\n\r{}:request]\n", "m".repeat(1 << 20));
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> =
        vec![
        ("class.fp", long_class.into_bytes(), vec!["line 3", "more bytes"]),
        (
            "sig.fp",
            b"classes = win\n[tcp:request]\nlabel = s:win:W:1\nsig = *:64:0:*:mss*44,8:zz:df:0\n"
                .to_vec(),
            vec!["line 4"],
        ),
        ("section.fp", section.into_bytes(), vec!["line 3", "malformed section"]),
    ];
    for (name, data, words) in cases {
        std::fs::write(dir.join(name), &data).unwrap();
        let o = read(&dir, &pcap, &["--p0f-db", name]);
        check_error(name, &o, name, &words);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `run --config`: refused before any capture starts (status 2).
#[test]
fn config_file_damaged_or_endless() {
    let dir = scratch("errmsg-config");
    let run = |cfg: &str| {
        sniffer(
            &dir,
            &[os("run"), os("--iface"), os("lo"), os("--config"), os(cfg)],
        )
    };
    for (path, words) in special_inputs(&dir) {
        let p = path.to_str().unwrap();
        check_error(p, &run(p), p, &[words]);
    }
    let long_key = format!("{} = 1\n", "k".repeat(1 << 20));
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "syntax.toml",
            b"iface = \"x\"\nfoo = [1,\n".to_vec(),
            vec!["line 2, column"],
        ),
        (
            "unknown.toml",
            long_key.into_bytes(),
            vec!["line 1, column 1", "more bytes"],
        ),
        (
            "utf8.toml",
            b"iface = \"eth0\"\nuser = \"\xff\x1b\"\n".to_vec(),
            vec!["line 2, column"],
        ),
        (
            "type.toml",
            b"\n\nsnaplen = \"\x1b[2J\"\n".to_vec(),
            vec!["line 3, column"],
        ),
    ];
    for (name, data, words) in cases {
        std::fs::write(dir.join(name), &data).unwrap();
        let o = run(name);
        check_error(name, &o, name, &words);
        assert_eq!(o.status, 2, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ----------------------------------------------------------------- outputs

/// An output naming an input (directly, by hard link, by symlink) or the
/// other output is refused before anything is written: every file keeps
/// its bytes.
#[test]
fn outputs_naming_inputs_are_refused() {
    let dir = scratch("errmsg-clash");
    let pcap = dir.join("x.pcap");
    std::fs::copy(foxio_pcap("tls12.pcap"), &pcap).unwrap();
    let original = std::fs::read(&pcap).unwrap();
    std::fs::hard_link(&pcap, dir.join("hard.log")).unwrap();
    std::os::unix::fs::symlink("x.pcap", dir.join("soft.log")).unwrap();
    std::fs::write(dir.join("state.json"), b"{\"config\": {\"deckies\": []}}").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["read", "x.pcap", "--log", "x.pcap"],
            "--log x.pcap: is the same file as capture x.pcap",
        ),
        (
            &["read", "x.pcap", "--json", "hard.log"],
            "same file as capture",
        ),
        (
            &["read", "x.pcap", "--log", "soft.log"],
            "same file as capture",
        ),
        (
            &["read", "x.pcap", "--log", "o.log", "--json", "./o.log"],
            "same file as --log o.log",
        ),
        (
            &[
                "read",
                "x.pcap",
                "--log",
                "state.json",
                "--state",
                "state.json",
            ],
            "same file as --state",
        ),
        (
            &[
                "run", "--iface", "lo", "--log", "x.pcap", "--json", "soft.log",
            ],
            "same file",
        ),
        (
            &[
                "run", "--iface", "lo", "--log", "a.log", "--state", "a.json",
            ],
            "same file as --state",
        ),
    ];
    for (args, words) in cases {
        let args: Vec<_> = args.iter().map(|a| os(a)).collect();
        let o = sniffer(&dir, &args);
        check_error(&format!("{args:?}"), &o, "refusing", &[words]);
        assert_eq!(
            std::fs::read(&pcap).unwrap(),
            original,
            "{args:?} changed the capture"
        );
        assert!(!dir.join("o.log").exists() && !dir.join("a.log").exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An output file that ends inside a line keeps every byte: one newline is
/// added before our records and a warning gives the torn tail's length.
#[test]
fn torn_output_tail_is_kept() {
    let dir = scratch("errmsg-torn");
    let pcap = foxio_pcap("tls12.pcap");
    std::fs::write(dir.join("f.log"), b"a\nb-partial").unwrap();
    std::fs::write(dir.join("f.json"), b"no newline at all").unwrap();
    let o = sniffer(
        &dir,
        &[
            os("read"),
            pcap.as_os_str(),
            os("--log"),
            os("f.log"),
            os("--json"),
            os("f.json"),
        ],
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    let lines = check_lines("torn", &o, "decnet-sniffer: warning: f.");
    assert_eq!(lines.len(), 2, "{}", o.stderr);
    assert!(lines[0].contains("f.log: the file ends inside a line (9 bytes"));
    assert!(lines[1].contains("f.json: the file ends inside a line (17 bytes"));
    let log = std::fs::read(dir.join("f.log")).unwrap();
    let json = std::fs::read(dir.join("f.json")).unwrap();
    assert!(
        log.starts_with(b"a\nb-partial\n<134>1 "),
        "{}",
        String::from_utf8_lossy(&log)
    );
    assert!(json.starts_with(b"no newline at all\n{"));
    // A second run appends without a word: the files now end with a newline.
    let o = sniffer(
        &dir,
        &[
            os("read"),
            pcap.as_os_str(),
            os("--log"),
            os("f.log"),
            os("--json"),
            os("f.json"),
        ],
    );
    assert_eq!((o.status, o.stderr.as_str()), (0, ""));
    let again = std::fs::read(dir.join("f.log")).unwrap();
    assert!(again.starts_with(&log) && again.len() > log.len());
    std::fs::remove_dir_all(&dir).unwrap();
}
