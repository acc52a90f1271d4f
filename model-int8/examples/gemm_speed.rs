//! The lockstep matrix product alone, on the kernel set in use
//! (`MODEL_INT8_KERNELS` picks another): GMAC/s per core for the shapes of
//! the paper sizes' layers, beside one `matvec` per sequence.
//! `cargo run --release -p model-int8 --features simd --example gemm_speed`
use std::time::Instant;

use model_int8::kernels::{self, pack, packed_len};

fn main() {
    println!("kernels: {}", kernels::active());
    for (rows, cols) in [
        (64, 64),
        (256, 64),
        (128, 128),
        (512, 128),
        (256, 256),
        (1024, 256),
        (256, 1024),
    ] {
        let w: Vec<i8> = (0..rows * cols)
            .map(|i| ((i * 37 % 255) as i32 - 127) as i8)
            .collect();
        let mut p = vec![0i8; packed_len(rows, cols)];
        pack(&w, rows, cols, &mut p);
        let rq: Vec<u8> = (0..rows)
            .flat_map(|_| [0i32, 1 << 30, -8].into_iter().flat_map(i32::to_le_bytes))
            .collect();
        let split: Vec<i32> = (0..3 * rows).map(|k| [0, 1 << 30, -8][k / rows]).collect();
        print!("{rows:>5}x{cols:<5}");
        for n in [1usize, 8] {
            let x: Vec<i8> = (0..n * cols).map(|i| (i * 11 % 256) as u8 as i8).collect();
            let mut out = vec![0i32; n * rows];
            let macs = (rows * cols * n) as f64;
            let reps = (2e8 / macs) as usize + 1;
            let time = |f: &mut dyn FnMut()| {
                (0..5)
                    .map(|_| {
                        let t = Instant::now();
                        for _ in 0..reps {
                            f();
                        }
                        t.elapsed().as_secs_f64()
                    })
                    .fold(f64::MAX, f64::min)
            };
            let t_mm =
                time(&mut || kernels::matmul_requantize(&w, &p, &rq, &split, &x, cols, &mut out));
            let t_mv = time(&mut || {
                for (xi, oi) in x.chunks_exact(cols).zip(out.chunks_exact_mut(rows)) {
                    kernels::matvec(&w, xi, oi);
                    kernels::requantize_rows(oi, &rq);
                }
            });
            print!(
                " | n {n}: matmul+rq {:6.1} GMAC/s, matvec+rq {:6.1}",
                macs * reps as f64 / t_mm / 1e9,
                macs * reps as f64 / t_mv / 1e9
            );
        }
        println!();
    }
}
