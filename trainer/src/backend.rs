//! The backend, chosen at build time: `burn-ndarray` on the CPU, or
//! `burn-cuda` with the `cuda` feature.

/// Backend for inference and evaluation.
#[cfg(not(feature = "cuda"))]
pub type Inner = burn_ndarray::NdArray<f32>;
/// Backend for inference and evaluation.
#[cfg(feature = "cuda")]
pub type Inner = burn_cuda::Cuda<f32, i32>;

/// Backend for training (with automatic differentiation).
pub type Train = burn_autodiff::Autodiff<Inner>;

/// Device handle of [`Inner`].
pub type Device = <Inner as burn::tensor::backend::BackendTypes>::Device;

/// The default device (the CPU, or the first GPU).
pub fn device() -> Device {
    Device::default()
}

/// A short description of the backend for manifests.
pub fn name() -> &'static str {
    if cfg!(feature = "cuda") {
        "burn-cuda 0.21.0"
    } else {
        "burn-ndarray 0.21.0 (CPU)"
    }
}
