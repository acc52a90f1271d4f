//! The packed weight layout of the matrix products for many sequences at
//! once: [`crate::kernels::matmul`] and its SIMD versions (the private `gemm`
//! module) both read it, so it lives apart from either.

/// Rows of a block of packed weights ([`pack`]).
pub const PACK_ROWS: usize = 16;
/// Columns of a block of packed weights ([`pack`]).
pub const PACK_COLS: usize = 4;

/// Bytes of a `rows` x `cols` matrix packed by [`pack`] (rows padded to a
/// multiple of [`PACK_ROWS`], columns to a multiple of [`PACK_COLS`]).
pub const fn packed_len(rows: usize, cols: usize) -> usize {
    rows.div_ceil(PACK_ROWS) * PACK_ROWS * cols.div_ceil(PACK_COLS) * PACK_COLS
}

/// Packs the row-major `rows` x `cols` matrix `w` for [`crate::kernels::matmul`]: blocks
/// of 16 rows, each a run of 4-column groups of 64 bytes (`[row][col]`
/// inside the group), zero-padded. `out` holds [`packed_len`] bytes.
pub fn pack(w: &[i8], rows: usize, cols: usize, out: &mut [i8]) {
    let groups = cols.div_ceil(PACK_COLS);
    let block = groups * PACK_ROWS * PACK_COLS;
    out.fill(0);
    for (r, row) in w.chunks_exact(cols).take(rows).enumerate() {
        let (b, rr) = (r / PACK_ROWS, r % PACK_ROWS);
        for (c, &v) in row.iter().enumerate() {
            let (g, cc) = (c / PACK_COLS, c % PACK_COLS);
            out[b * block + g * PACK_ROWS * PACK_COLS + rr * PACK_COLS + cc] = v;
        }
    }
}
