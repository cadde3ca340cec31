//! p0f 3.09b's HTTP module on one connection: the first request head if it
//! is a `GET /` or `HEAD /`, then the first response head, each read from
//! the first 8192 bytes of its direction the way p0f reads them. The
//! results fill `http_request_fingerprint`'s p0f fields and make one
//! `http_response_fingerprint`.

use crate::fingerprint::p0f::http::{
    HeadRead, HttpDb, HttpDir, HttpMatch, HttpMatchMemo, HttpRecord, WireSig, MAX_FLOW_DATA,
};
use crate::fingerprint::p0f::nat::{HttpMatchSnap, HttpObs};
use crate::fingerprint::p0f::Database;

/// Where p0f is on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Request,
    Response,
    Off,
}

/// What p0f's HTTP module still wants of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P0fNeeds {
    /// The rest of the first request head.
    Request,
    /// The response head.
    Response,
    Nothing,
}

/// p0f's view of a request or response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P0fHttpResult {
    /// `raw_sig`.
    pub sig: String,
    /// The matched label (`app=`), `???` without a match.
    pub app: Box<str>,
    /// `lang` (always `none` for a response).
    pub lang: &'static str,
    pub params: String,
    pub dishonest: bool,
    /// `User-Agent` or `Server`, as p0f took it (last non-empty one).
    pub software: Box<[u8]>,
}

/// What p0f's host change scoring takes from a head (fp_http.c
/// `score_nat`); the packet time and server port are added by the engine.
#[derive(Debug, Clone, Copy)]
pub struct HttpNatInfo {
    pub request: bool,
    record: Option<&'static HttpRecord>,
    dishonest: bool,
    has_sw: bool,
    via: bool,
    date: u32,
    ua_os: Option<u32>,
}

impl HttpNatInfo {
    fn of(db: &'static HttpDb, sig: &WireSig<'_>, m: &HttpMatch<'static>) -> Self {
        let request = sig.dir == HttpDir::Request;
        // Only an honest User-Agent that matched an application is checked.
        let app = m.record.is_some_and(|r| r.class.is_none());
        let ua_os = match sig.software {
            Some(ua) if request && app && !m.dishonest => db.ua_os(ua),
            _ => None,
        };
        HttpNatInfo {
            request,
            record: m.record,
            dishonest: m.dishonest,
            has_sw: sig.software.is_some(),
            via: sig.via,
            date: if request { 0 } else { sig.date_secs() },
            ua_os,
        }
    }

    /// The observation scored against the host, received at `recv_date`
    /// (packet seconds) on server port `srv_port`.
    pub fn obs(&self, recv_date: u32, srv_port: u16) -> HttpObs<'static> {
        HttpObs {
            matched: self.record.map(|r| HttpMatchSnap {
                name: r.name,
                label_id: r.label_id,
                class: r.class,
                sys: &r.sys,
            }),
            ua_os: self.ua_os,
            dishonest: self.dishonest,
            has_sw: self.has_sw,
            via: self.via,
            date: self.date,
            recv_date,
            srv_port,
        }
    }
}

impl P0fHttpResult {
    fn of(db: &HttpDb, sig: &WireSig<'_>, m: &HttpMatch<'_>) -> Self {
        P0fHttpResult {
            sig: db.raw_sig(sig),
            app: m.record.map_or("???", |r| &r.label).into(),
            lang: sig.lang_text(),
            params: sig.params(m),
            dishonest: m.dishonest,
            software: sig.software.unwrap_or_default().into(),
        }
    }
}

/// Per-connection p0f HTTP state.
#[derive(Debug)]
pub struct P0fHttp {
    phase: Phase,
    /// The head read so far, when it spans segments.
    buf: Vec<u8>,
    /// The first request's result, until its event takes it.
    request: Option<P0fHttpResult>,
}

impl Default for P0fHttp {
    fn default() -> Self {
        P0fHttp {
            phase: Phase::Request,
            buf: Vec::new(),
            request: None,
        }
    }
}

impl P0fHttp {
    pub fn needs(&self) -> P0fNeeds {
        match self.phase {
            Phase::Request => P0fNeeds::Request,
            Phase::Response => P0fNeeds::Response,
            Phase::Off => P0fNeeds::Nothing,
        }
    }

    /// Whether p0f gives up on a connection whose client's first bytes are
    /// `first` (what [`Self::on_client`] would decide from them).
    pub fn rejects_first(db: &Database, first: &[u8]) -> bool {
        matches!(
            HeadRead::of(&db.http, HttpDir::Request, first),
            HeadRead::Rejected
        )
    }

    /// Whether the server's bytes are still wanted.
    pub fn wants_response(&self) -> bool {
        self.phase == Phase::Response
    }

    /// The first request's p0f result, once, when its head was read.
    pub fn take_request(&mut self) -> Option<P0fHttpResult> {
        self.request.take()
    }

    /// Puts back a result whose request the HTTP reader has yet to finish.
    pub fn keep_request(&mut self, r: P0fHttpResult) {
        self.request = Some(r);
    }

    /// The next in-order bytes from the client: what host change scoring
    /// takes of the request when its head is complete. `memo` remembers
    /// which signature heads of each shape matched.
    pub fn on_client(
        &mut self,
        db: &'static Database,
        memo: &mut HttpMatchMemo,
        data: &[u8],
    ) -> Option<HttpNatInfo> {
        if self.phase != Phase::Request {
            return None;
        }
        let (r, scoring) = self.read(db, memo, HttpDir::Request, data)?;
        self.request = Some(r);
        self.phase = Phase::Response;
        Some(scoring)
    }

    /// The next in-order bytes from the server: the response's result
    /// (and what host change scoring takes) when its head is complete.
    pub fn on_server(
        &mut self,
        db: &'static Database,
        memo: &mut HttpMatchMemo,
        data: &[u8],
    ) -> Option<(P0fHttpResult, HttpNatInfo)> {
        // p0f gives up on a connection whose server speaks before the
        // request head has ended.
        if self.phase != Phase::Response {
            self.stop();
            return None;
        }
        let r = self.read(db, memo, HttpDir::Response, data);
        if r.is_some() {
            self.stop();
        }
        r
    }

    fn stop(&mut self) {
        self.phase = Phase::Off;
        self.buf = Vec::new();
    }

    /// Adds `data` to the head of `dir` and reads it; `None` while it is
    /// incomplete (or after p0f gave up, then the phase is `Off`).
    fn read(
        &mut self,
        db: &'static Database,
        memo: &mut HttpMatchMemo,
        dir: HttpDir,
        data: &[u8],
    ) -> Option<(P0fHttpResult, HttpNatInfo)> {
        // The common case, a head in one segment, is read in place.
        let outcome = if self.buf.is_empty() {
            match HeadRead::of(&db.http, dir, data) {
                HeadRead::Done(sig) => Ok(done(db, memo, &sig)),
                HeadRead::Rejected => Err(true),
                HeadRead::Incomplete => {
                    self.buf
                        .extend_from_slice(&data[..data.len().min(MAX_FLOW_DATA)]);
                    Err(false)
                }
            }
        } else {
            let room = MAX_FLOW_DATA - self.buf.len();
            let add = &data[..data.len().min(room)];
            self.buf.extend_from_slice(add);
            // A head can only end at a line start, so without a CR or LF
            // in the new bytes it cannot have ended (a rejection waits).
            let full = self.buf.len() >= MAX_FLOW_DATA;
            if !full && memchr::memchr2(b'\r', b'\n', add).is_none() {
                return None;
            }
            match HeadRead::of(&db.http, dir, &self.buf) {
                HeadRead::Done(sig) => Ok(done(db, memo, &sig)),
                HeadRead::Rejected => Err(true),
                HeadRead::Incomplete => Err(false),
            }
        };
        match outcome {
            Ok(done) => {
                self.buf = Vec::new();
                Some(done)
            }
            Err(true) => {
                self.stop();
                None
            }
            Err(false) => None,
        }
    }
}

/// A complete head: its result, and what host change scoring takes.
fn done(
    db: &'static Database,
    memo: &mut HttpMatchMemo,
    sig: &WireSig<'_>,
) -> (P0fHttpResult, HttpNatInfo) {
    let m = db.http.find_memo(sig, memo);
    (
        P0fHttpResult::of(&db.http, sig, &m),
        HttpNatInfo::of(&db.http, sig, &m),
    )
}

/// `ua_mismatch`: empty, or `ua:<OS> syn:<OS>` when the OS a
/// `User-Agent` names (p0f's `ua_os` table) is not the OS the connection's
/// SYN matched.
pub fn ua_mismatch(db: &Database, user_agent: &[u8], syn_os: Option<u32>) -> String {
    let (Some(ua), Some(syn)) = (db.http.ua_os(user_agent), syn_os) else {
        return String::new();
    };
    if ua == syn {
        return String::new();
    }
    format!("ua:{} syn:{}", db.name(ua), db.name(syn))
}

/// A p0f HTTP head read from a connection's stream, waiting for the
/// engine's host change scoring (analyzers cannot reach its host table).
#[derive(Debug)]
pub struct HttpHead {
    pub info: HttpNatInfo,
    pub ts: crate::util::time::Timestamp,
    pub client: std::net::SocketAddr,
    pub server: std::net::SocketAddr,
    pub decky: std::sync::Arc<str>,
    pub direction: super::Direction,
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n";
    const RESP: &[u8] = b"HTTP/1.0 200 OK\r\nServer: x/1\r\n\r\nbody";

    #[test]
    fn request_then_response_split_anywhere() {
        let db = Database::bundled();
        let mut memo = HttpMatchMemo::default();
        // p0f ends a head at the CR of the empty line: the last LF is not needed.
        for cut in 1..REQ.len() - 1 {
            let mut p = P0fHttp::default();
            p.on_client(db, &mut memo, &REQ[..cut]);
            assert!(p.take_request().is_none(), "cut {cut}");
            p.on_client(db, &mut memo, &REQ[cut..]);
            let r = p.take_request().expect("request");
            assert_eq!(r.sig, "1:Host,User-Agent,Accept=[*/*]:Connection,Accept-Encoding,Accept-Language,Accept-Charset,Keep-Alive:curl/8");
            assert!(p.wants_response());
            let (a, b) = RESP.split_at(cut.min(RESP.len() - 1));
            let first = p.on_server(db, &mut memo, a);
            let (r, _) = first
                .or_else(|| p.on_server(db, &mut memo, b))
                .expect("response");
            assert_eq!(
                r.sig,
                "0:Server:Content-Type,Connection,Keep-Alive,Accept-Ranges,Date:x/1"
            );
            assert_eq!(&*r.software, b"x/1");
            assert!(!p.wants_response());
        }
    }

    #[test]
    fn server_first_turns_p0f_off() {
        let db = Database::bundled();
        let mut memo = HttpMatchMemo::default();
        let mut p = P0fHttp::default();
        assert!(p.on_server(db, &mut memo, RESP).is_none());
        p.on_client(db, &mut memo, REQ);
        assert!(p.take_request().is_none());
    }

    #[test]
    fn ua_mismatch_names_both_systems() {
        let db = Database::bundled();
        let linux = db.http.ua_os(b"X11; Linux x86_64");
        let win = db.http.ua_os(b"Windows NT 10.0");
        assert!(linux.is_some() && win.is_some());
        assert_eq!(
            ua_mismatch(db, b"(Windows NT 10.0; Win64)", linux),
            "ua:Windows syn:Linux"
        );
        assert_eq!(ua_mismatch(db, b"(X11; Linux x86_64)", linux), "");
        assert_eq!(ua_mismatch(db, b"curl/8", linux), "");
        assert_eq!(ua_mismatch(db, b"Windows", None), "");
    }
}
