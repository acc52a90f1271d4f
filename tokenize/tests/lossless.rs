//! Every byte sequence encodes and decodes back exactly; files and hashes
//! round-trip; real text gets shorter.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use tokenize::{fingerprint, Bpe, Error};

fn enwik8() -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/enwik8/enwik8.head");
    std::fs::read(p).expect("the shared data sets are beside the checkout")
}

/// A 1K tokenizer trained on the first 300 KB of enwik8's training range.
fn bpe() -> &'static Bpe {
    static B: OnceLock<Bpe> = OnceLock::new();
    B.get_or_init(|| Bpe::train(&[&enwik8()[..300_000]], 1000).unwrap())
}

#[test]
fn has_every_byte_and_the_asked_vocabulary() {
    let b = bpe();
    assert_eq!(b.vocab(), 1000);
    for byte in 0..=255u8 {
        let ids = b.encode(&[byte]);
        assert_eq!(ids.len(), 1, "byte {byte:#04x}");
        assert_eq!(b.piece(ids[0]), Some(&[byte][..]));
    }
    assert!(b.piece(1000).is_none());
}

#[test]
fn held_out_text_shrinks_and_round_trips() {
    let text = enwik8();
    let held = &text[3_600_000..];
    let mut tokens = 0;
    for chunk in held.chunks(2048) {
        let ids = bpe().encode(chunk);
        assert_eq!(bpe().decode(&ids).unwrap(), chunk);
        tokens += ids.len();
    }
    // About 2.3 bytes a token at 1K; at least 1.8 or something broke.
    let ratio = held.len() as f64 / tokens as f64;
    assert!(ratio > 1.8, "{ratio}");
}

#[test]
fn invalid_utf8_and_cut_characters_round_trip() {
    let cases: [&[u8]; 6] = [
        b"\xff\xfe\xfd",
        b"caf\xc3",            // cut inside a character
        b"\xa9 2008 \xe2\x80", // continuation first, cut at the end
        b"\x00\x01 \r\n\t  x",
        "na\u{ef}ve \u{1f600} text".as_bytes(),
        b"\xed\xa0\x80 surrogate, \xf4\x90\x80\x80 past U+10FFFF",
    ];
    for c in cases {
        let ids = bpe().encode(c);
        assert_eq!(bpe().decode(&ids).unwrap(), c, "{c:?}");
    }
}

#[test]
fn files_round_trip_with_their_hash_and_fingerprints_differ() {
    let b = bpe();
    let dir = std::env::temp_dir().join(format!("tokenize-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bpe.json");
    b.save(&path).unwrap();
    let again = Bpe::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(again.hash(), b.hash());
    let text = &enwik8()[3_700_000..3_710_000];
    assert_eq!(again.encode(text), b.encode(text));

    let other = Bpe::train(&[&enwik8()[..100_000]], 500).unwrap();
    assert_ne!(other.hash(), b.hash());
    assert_ne!(fingerprint(7, b.hash()), fingerprint(7, other.hash()));
    assert_ne!(fingerprint(7, b.hash()), fingerprint(8, b.hash()));
}

#[test]
fn bad_ids_and_files_are_errors() {
    assert!(matches!(
        bpe().decode(&[5, 1000]),
        Err(Error::BadToken(1000))
    ));
    assert!(matches!(Bpe::from_json("{}"), Err(Error::Library(_))));
    assert!(matches!(
        Bpe::train(&[b"abc"], 100),
        Err(Error::Unsupported(_))
    ));
    let missing = Bpe::load(Path::new("/no/such/tokenizer.json")).unwrap_err();
    assert!(
        missing.to_string().contains("/no/such/tokenizer.json"),
        "{missing}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let ids = bpe().encode(&bytes);
        prop_assert!(ids.len() <= bytes.len());
        prop_assert_eq!(bpe().decode(&ids).unwrap(), bytes);
    }

    #[test]
    fn random_text_round_trips(s in "\\PC{0,200}") {
        let ids = bpe().encode(s.as_bytes());
        prop_assert_eq!(bpe().decode(&ids).unwrap(), s.as_bytes());
    }
}

mod codec {
    use super::*;
    use coder_core::models::StaticModel;
    use coder_core::{FreqTable, Model};
    use tokenize::{decode_chunk, encode_chunk, Tokenized};

    /// A static model over the tokenizer's vocabulary: token counts of the
    /// training text (plus one), at the precision a 1K vocabulary gets.
    fn unigram() -> StaticModel<Vec<u32>> {
        let mut counts = vec![1.0f64; bpe().vocab()];
        for t in bpe().encode(&enwik8()[..200_000]) {
            counts[t as usize] += 1.0;
        }
        StaticModel::new(FreqTable::from_probabilities(&counts, 18).unwrap())
    }

    #[test]
    fn chunks_code_and_decode_back_byte_for_byte() {
        let text = enwik8();
        let mut m = unigram();
        let (mut coded, mut raw) = (0, 0);
        for chunk in text[3_600_000..3_700_000].chunks(2048) {
            let (c, tokens) = encode_chunk(bpe(), &mut m, chunk).unwrap();
            assert!(tokens < chunk.len());
            assert_eq!(decode_chunk(bpe(), &mut m, &c, chunk.len()).unwrap(), chunk);
            coded += c.len();
            raw += chunk.len();
        }
        // A unigram over 1K tokens already beats 5 bits a byte.
        assert!((coded * 8) as f64 / (raw as f64) < 5.0, "{coded} of {raw}");
        // Random bytes and cut characters too.
        for c in [&b"\xff\xc3"[..], b"", b"a", &text[10..11]] {
            let (k, _) = encode_chunk(bpe(), &mut m, c).unwrap();
            assert_eq!(decode_chunk(bpe(), &mut m, &k, c.len()).unwrap(), c);
        }
    }

    #[test]
    fn damage_and_the_wrong_pair_are_refused() {
        let text = &enwik8()[3_800_000..3_802_048];
        let mut m = unigram();
        let (c, _) = encode_chunk(bpe(), &mut m, text).unwrap();
        // A wrong length or damaged bytes never decode to the chunk.
        assert!(decode_chunk(bpe(), &mut m, &c, text.len() - 1).is_err());
        let mut bad = c.clone();
        bad[c.len() / 2] ^= 0x20;
        assert_ne!(
            decode_chunk(bpe(), &mut m, &bad, text.len())
                .ok()
                .as_deref(),
            Some(text)
        );
        // A model of another alphabet is refused up front.
        let other = Bpe::train(&[&enwik8()[..50_000]], 400).unwrap();
        let e = encode_chunk(&other, &mut m, text).unwrap_err();
        assert!(
            matches!(
                e,
                Error::VocabMismatch {
                    model: 1000,
                    tokenizer: 400
                }
            ),
            "{e}"
        );
        // The pair's fingerprint covers the tokenizer.
        let a = Tokenized::new(bpe(), unigram()).unwrap();
        assert_eq!(
            a.fingerprint(),
            tokenize::fingerprint(unigram().fingerprint(), bpe().hash())
        );
        assert!(Tokenized::new(&other, unigram()).is_err());
    }
}
