//! Binary PNM headers: PGM (`P5`), PPM (`P6`) and PAM (`P7`).

use super::{Layout, Region, Sniffed};

/// A cursor over header text.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    /// Skips whitespace and `#` comments (to the end of their line).
    fn skip_space(&mut self) {
        while let Some(&c) = self.b.get(self.at) {
            if c == b'#' {
                while self.b.get(self.at).is_some_and(|&c| c != b'\n') {
                    self.at += 1;
                }
            } else if c.is_ascii_whitespace() {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    /// A decimal number after optional space (at most 9 digits).
    fn number(&mut self) -> Option<u32> {
        self.skip_space();
        let from = self.at;
        let mut v: u32 = 0;
        while let Some(&c) = self.b.get(self.at).filter(|c| c.is_ascii_digit()) {
            if self.at - from == 9 {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
            self.at += 1;
        }
        (self.at > from).then_some(v)
    }

    /// The next whitespace-delimited word of a PAM header line.
    fn word(&mut self) -> &[u8] {
        self.skip_space();
        let from = self.at;
        while self
            .b
            .get(self.at)
            .is_some_and(|c| !c.is_ascii_whitespace())
        {
            self.at += 1;
        }
        &self.b[from..self.at]
    }
}

/// The region of a P5, P6 or P7 file's first image.
pub(super) fn parse(b: &[u8]) -> Sniffed {
    let mut cur = Cursor { b, at: 2 };
    let (width, height, depth, maxval) = if b[1] == b'7' {
        match pam_fields(&mut cur) {
            Some(f) => f,
            None => return Sniffed::Other,
        }
    } else {
        let (Some(w), Some(h), Some(m)) = (cur.number(), cur.number(), cur.number()) else {
            return Sniffed::Other;
        };
        // Exactly one whitespace byte ends the header.
        if !b.get(cur.at).is_some_and(|c| c.is_ascii_whitespace()) {
            return Sniffed::Other;
        }
        cur.at += 1;
        (w, h, if b[1] == b'5' { 1 } else { 3 }, m)
    };
    if width == 0 || height == 0 || !(1..=65535).contains(&maxval) || !(1..=4).contains(&depth) {
        return Sniffed::Other;
    }
    if maxval > 255 {
        return Sniffed::Unsupported("16-bit PNM samples: coded as bytes, without the image model");
    }
    let layout = Layout::Image {
        width,
        channels: depth as u8,
    };
    if !layout.is_valid() {
        return Sniffed::Unsupported("image row too wide for the image model: coded as bytes");
    }
    Sniffed::Media(Region {
        layout,
        start: cur.at as u64,
        len: u64::from(width) * u64::from(height) * u64::from(depth),
    })
}

/// `WIDTH`, `HEIGHT`, `DEPTH` and `MAXVAL` of a PAM header, which ends
/// after `ENDHDR` and its newline.
fn pam_fields(cur: &mut Cursor<'_>) -> Option<(u32, u32, u32, u32)> {
    let (mut w, mut h, mut d, mut m) = (None, None, None, None);
    loop {
        match cur.word() {
            b"WIDTH" => w = Some(cur.number()?),
            b"HEIGHT" => h = Some(cur.number()?),
            b"DEPTH" => d = Some(cur.number()?),
            b"MAXVAL" => m = Some(cur.number()?),
            b"TUPLTYPE" => {
                while cur.b.get(cur.at).is_some_and(|&c| c != b'\n') {
                    cur.at += 1;
                }
            }
            b"ENDHDR" => {
                if cur.b.get(cur.at) != Some(&b'\n') {
                    return None;
                }
                cur.at += 1;
                return Some((w?, h?, d?, m?));
            }
            _ => return None,
        }
    }
}
