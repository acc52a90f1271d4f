//! Trains a byte-level BPE tokenizer on a byte range of a file:
//! `cargo run --release -p tokenize --example train_bpe -- FILE START END VOCAB OUT`
//! (`trainer tokenizer` does the same with the trainer's data checks).

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 6 {
        eprintln!("usage: train_bpe FILE START END VOCAB OUT");
        std::process::exit(2);
    }
    let bytes = std::fs::read(&a[1]).expect("read the training file");
    let (s, e): (usize, usize) = (a[2].parse().unwrap(), a[3].parse().unwrap());
    let vocab: usize = a[4].parse().unwrap();
    let t = std::time::Instant::now();
    let bpe = tokenize::Bpe::train(&[&bytes[s..e]], vocab).expect("train");
    bpe.save(std::path::Path::new(&a[5])).expect("write");
    let held = &bytes[e..];
    let tokens: usize = held.chunks(2048).map(|c| bpe.encode(c).len()).sum();
    println!(
        "{}: {} tokens in {:.1} s, hash {:016x}, {:.3} held-out bytes per token (2048-byte chunks)",
        a[5],
        bpe.vocab(),
        t.elapsed().as_secs_f64(),
        bpe.hash(),
        held.len() as f64 / tokens as f64
    );
}
