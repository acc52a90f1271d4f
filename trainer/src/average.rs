//! Weight averaging: the mean of several float checkpoints of one run
//! (e.g. the last few saved along a training run at a small batch), a
//! model that often predicts better than any one of them because the
//! averaging cancels the noise of the last steps.
//!
//! ```
//! use model_int8::{Config, FloatModel};
//! use trainer::average::average;
//!
//! let config = Config::sized(32, 1, 2, 32, 128);
//! let (a, b) = (FloatModel::random(config, 1), FloatModel::random(config, 2));
//! let mean = average(&[a.clone(), b.clone()])?;
//! assert_eq!(mean.head[7], (a.head[7] + b.head[7]) / 2.0);
//! # Ok::<(), trainer::Error>(())
//! ```

use model_int8::FloatModel;

use crate::error::{Error, Result};

/// The element-wise mean of `models`, which must share one configuration
/// (summed in `f64`, so the order of the models does not matter).
pub fn average(models: &[FloatModel]) -> Result<FloatModel> {
    let first = models
        .first()
        .ok_or_else(|| Error::Usage("no models to average".into()))?;
    if let Some(k) = models.iter().position(|m| m.config != first.config) {
        return Err(Error::Model(format!(
            "model {} of {} has another configuration than the first ({:?} against {:?})",
            k + 1,
            models.len(),
            models[k].config,
            first.config
        )));
    }
    let mut sums: Vec<Vec<f64>> = first.tensors().iter().map(|t| vec![0.0; t.len()]).collect();
    for m in models {
        for (sum, t) in sums.iter_mut().zip(m.tensors()) {
            for (s, &x) in sum.iter_mut().zip(t) {
                *s += f64::from(x);
            }
        }
    }
    let n = models.len() as f64;
    let mut mean = first.clone();
    for (t, sum) in mean.tensors_mut().into_iter().zip(&sums) {
        for (x, &s) in t.iter_mut().zip(sum) {
            *x = (s / n) as f32;
        }
    }
    Ok(mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_int8::Config;

    #[test]
    fn one_model_is_its_own_average() {
        let m = FloatModel::random(Config::sized(32, 2, 2, 32, 128), 3);
        assert_eq!(average(std::slice::from_ref(&m)).unwrap(), m);
    }

    #[test]
    fn every_tensor_is_averaged() {
        let config = Config::sized(32, 2, 2, 32, 128);
        let ms: Vec<FloatModel> = (1..=3).map(|s| FloatModel::random(config, s)).collect();
        let mean = average(&ms).unwrap();
        let (t0, t1, t2) = (ms[0].tensors(), ms[1].tensors(), ms[2].tensors());
        for (k, t) in mean.tensors().iter().enumerate() {
            for (i, &x) in t.iter().enumerate() {
                let want = (f64::from(t0[k][i]) + f64::from(t1[k][i]) + f64::from(t2[k][i])) / 3.0;
                assert_eq!(x, want as f32, "tensor {k} element {i}");
            }
        }
    }

    #[test]
    fn other_configurations_and_no_models_are_errors() {
        let a = FloatModel::random(Config::sized(32, 2, 2, 32, 128), 1);
        let b = FloatModel::random(Config::sized(32, 1, 2, 32, 128), 1);
        let err = average(&[a, b]).unwrap_err();
        assert!(err.to_string().contains("model 2 of 2"), "{err}");
        assert!(matches!(average(&[]), Err(Error::Usage(_))));
    }
}
