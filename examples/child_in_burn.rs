//! A found (and retrained) network used as a plain Burn module in your own model: here a
//! classifier with a learnable temperature around it, fine-tuned for a few steps with
//! autodiff, then run for inference.
//!
//! ```text
//! cargo run -p nse --example child_in_burn                       # the published NSENet-GPU, fresh weights
//! cargo run -p nse --example child_in_burn -- runs/demo/retrain  # the README main job's retrained network
//! ```
//!
//! A retrained model folder (`nse retrain --out DIR`, or `runs/NAME/retrain` after
//! `nse search --retrain`) holds `network.json` (the space and the architecture) and
//! `model.bpk` (the weights); `ChildNetwork::load` rebuilds the network from them. Without
//! one, the example builds `nsenet-gpu` at 64x64 with fresh weights.

use std::path::Path;
use std::process::ExitCode;

use nse::burn::module::{Module, Param};
use nse::burn::nn::loss::CrossEntropyLossConfig;
use nse::burn::optim::{GradientsParams, SgdConfig};
use nse::burn::tensor::{Device, Distribution, Int, Tensor};
use nse::space::{NetworkSpec, published};
use nse::supernet::ChildNetwork;

/// Your own model: the NSE network as its backbone, and a temperature of its own.
#[derive(Module, Debug)]
struct TemperedClassifier {
    backbone: ChildNetwork,
    /// Logits are divided by it (learned).
    temperature: Param<Tensor<1>>,
}

impl TemperedClassifier {
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let logits = self.backbone.forward(x);
        logits / self.temperature.val().unsqueeze::<2>()
    }
}

fn run(model_dir: Option<&Path>) -> Result<(), Box<dyn std::error::Error>> {
    let device = Device::flex().autodiff();
    let (network, backbone) = match model_dir {
        Some(dir) => {
            let network: NetworkSpec =
                serde_json::from_str(&std::fs::read_to_string(dir.join("network.json"))?)?;
            let (space, arch) = network.resolve()?;
            let backbone = ChildNetwork::load(&space, &arch, &device, &dir.join("model.bpk"))?;
            (network, backbone)
        }
        None => {
            let mut network = published("nsenet-gpu")?;
            network.space.input_size = 64;
            network.space.num_classes = 10;
            let (space, arch) = network.resolve()?;
            (
                network,
                ChildNetwork::from_space(&space, &arch, &device, 7)?,
            )
        }
    };
    let spec = &network.space;
    println!(
        "backbone: {} ({} cells), input {}x{}x{}, {} classes",
        network.name.as_deref().unwrap_or("retrained network"),
        network.architecture.cells().len(),
        spec.input_channels,
        spec.input_size,
        spec.input_size,
        spec.num_classes
    );
    let mut model = TemperedClassifier {
        backbone,
        temperature: Param::from_tensor(Tensor::ones([1], &device)),
    };

    // A few fine-tuning steps on random data: the backbone's weights and the temperature
    // get gradients like any Burn module's.
    let mut optimizer = SgdConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&device);
    let shape = [8, spec.input_channels, spec.input_size, spec.input_size];
    for step in 1..=3 {
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let labels = Tensor::<1, Int>::from_data(
            [0, 1, 2, 3, 4, 5, 6, 7].map(|c| c % spec.num_classes as i64),
            &device,
        );
        let loss = loss_fn.forward(model.forward(x), labels);
        println!(
            "fine-tuning step {step}: loss {:.4}",
            loss.clone().into_scalar::<f32>()
        );
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(0.01, model, grads);
    }
    println!(
        "temperature after fine-tuning: {:.4}",
        model.temperature.val().into_scalar::<f32>()
    );

    // Inference: the same module without autodiff, batch norm in eval mode.
    let inference = model.valid();
    let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &Device::flex());
    let probabilities = nse::burn::tensor::activation::softmax(inference.forward(x), 1);
    let top = probabilities.argmax(1).into_data();
    println!("predicted classes of 8 random images: {top}");
    Ok(())
}

fn main() -> ExitCode {
    let dir = std::env::args().nth(1);
    match run(dir.as_deref().map(Path::new)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
