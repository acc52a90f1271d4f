//! Token-level models: `lmc --model` with a tokenizer beside the model
//! (or `--tokenizer`) writes the container's token coding, restores the
//! input exactly, and refuses the wrong model or tokenizer.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use coder_core::container::Mode;
use lmc::tokens::{compress_tokens, decompress_tokens, tiny_random_token_model, TokenSource};
use lmc::{Error, Int8Source};
use tokenize::Bpe;

fn enwik8() -> &'static [u8] {
    static D: OnceLock<Vec<u8>> = OnceLock::new();
    D.get_or_init(|| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/enwik8/enwik8.head");
        std::fs::read(p).expect("the shared data sets are beside the checkout")
    })
}

fn bpe(n: usize, vocab: usize) -> Bpe {
    Bpe::train(&[&enwik8()[..n]], vocab).unwrap()
}

#[test]
fn token_streams_round_trip_and_refuse_another_tokenizer() {
    let b = bpe(150_000, 700);
    let model = tiny_random_token_model(700, 5).unwrap();
    let src = TokenSource::new(Int8Source::new(&model).unwrap(), b).unwrap();
    // Held-out text with a cut UTF-8 character and binary bytes in it.
    let mut text = enwik8()[3_600_000..3_620_000].to_vec();
    text.extend_from_slice(b"\xe2\x82 \xff\x00\x01 end");
    let mut packed = Cursor::new(Vec::new());
    let s = compress_tokens(&src, &text[..], &mut packed, 2048, |_| {}).unwrap();
    assert_eq!(s.header.coding.mode, Mode::Tokens);
    assert_eq!(s.header.fingerprint, src.fingerprint());
    assert_eq!(s.header.original_len, text.len() as u64);
    assert!(s.coded > 0);
    let packed = packed.into_inner();
    let mut back = Vec::new();
    decompress_tokens(&src, &packed[..], &mut back, |_| {}).unwrap();
    assert_eq!(back, text);

    // Same vocabulary, another tokenizer: refused before decoding.
    let other = TokenSource::new(Int8Source::new(&model).unwrap(), bpe(60_000, 700)).unwrap();
    let e = decompress_tokens(&other, &packed[..], &mut Vec::new(), |_| {}).unwrap_err();
    assert!(matches!(e, Error::ModelMismatch { .. }), "{e}");
    // A model of another vocabulary does not pair with the tokenizer.
    let bytes_model = lmc::models::tiny_random_model(1).unwrap();
    let e = TokenSource::new(Int8Source::new(&bytes_model).unwrap(), bpe(60_000, 700));
    assert!(matches!(e, Err(Error::Tokenizer { .. })));

    // Damage in a chunk is an error, never wrong output.
    let mut bad = packed.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x40;
    let mut out = Vec::new();
    assert!(decompress_tokens(&src, &bad[..], &mut out, |_| {}).is_err());
}

#[test]
fn the_cli_uses_the_tokenizer_beside_the_model() {
    let dir = std::env::temp_dir().join(format!("lmc-tokens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("tok.lmm");
    std::fs::write(&model, tiny_random_token_model(600, 9).unwrap()).unwrap();
    let tokenizer = dir.join("tok.tokenizer.json");
    bpe(100_000, 600).save(&tokenizer).unwrap();
    let input = dir.join("text.xml");
    std::fs::write(&input, &enwik8()[3_700_000..3_710_000]).unwrap();
    let lmc = env!("CARGO_BIN_EXE_lmc");
    let run = |args: &[&str]| Command::new(lmc).args(args).output().unwrap();

    let o = run(&[
        "-k",
        "-b",
        "2048",
        "--model",
        model.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let packed = dir.join("text.xml.lmc");
    let o = run(&["info", packed.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("tokens"),
        "{o:?}"
    );

    // Without the model: a clear error.
    let o = run(&["-dc", packed.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("token-level"),
        "{o:?}"
    );
    // With it (tokenizer found beside it): the input, exactly.
    let o = run(&[
        "-dc",
        "--model",
        model.to_str().unwrap(),
        packed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, &enwik8()[3_700_000..3_710_000]);
    // With another tokenizer named: refused.
    let other = dir.join("other.json");
    bpe(40_000, 600).save(&other).unwrap();
    let o = run(&[
        "-dc",
        "--model",
        model.to_str().unwrap(),
        "--tokenizer",
        other.to_str().unwrap(),
        packed.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
