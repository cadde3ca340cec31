//! Placeholder in-order stream buffer; the TLS work replaces it with a
//! bounded out-of-order assembler of the same API.

/// One direction of a TCP stream.
#[derive(Debug, Default)]
pub struct StreamBuffer {
    next: Option<u32>,
    offset: u64,
    released: bool,
}

/// What a push did, for counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct PushOutcome {
    pub retransmitted: bool,
    pub conflicting_overlap: bool,
    pub dropped_over_cap: bool,
}

impl StreamBuffer {
    pub fn new(_cap: usize) -> Self {
        StreamBuffer::default()
    }
    pub fn start(&mut self, next_seq: u32) {
        self.next = Some(next_seq);
    }
    pub fn is_started(&self) -> bool {
        self.next.is_some()
    }
    pub fn push(
        &mut self,
        seq: u32,
        data: &[u8],
        mut deliver: impl FnMut(u64, &[u8]),
    ) -> PushOutcome {
        let mut out = PushOutcome::default();
        if self.released || data.is_empty() {
            return out;
        }
        let next = *self.next.get_or_insert(seq);
        let behind = next.wrapping_sub(seq) as i32;
        if behind < 0 {
            out.dropped_over_cap = true;
            return out;
        }
        let skip = behind as usize;
        if skip >= data.len() {
            out.retransmitted = true;
            return out;
        }
        let fresh = &data[skip..];
        deliver(self.offset, fresh);
        self.offset += fresh.len() as u64;
        self.next = Some(next.wrapping_add(fresh.len() as u32));
        out.retransmitted = skip > 0;
        out
    }
    pub fn release(&mut self) {
        self.released = true;
    }
}
