"""Times torchvision's ImageFolder + DataLoader on an image tree with the NSE reference's
ImageNet transforms at 224, for comparison with `benches/loader.rs` (NSE_IMAGENET_LIKE).

Prints one JSON line per pipeline: images/s over full epochs of `ROOT/train`, batch 64,
W workers, after a warm-up of 4 batches. Run by scripts/loader-vs-torchvision.sh.
"""
import argparse
import json
import time

import torch
from torchvision import datasets, transforms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    pipelines = {
        "train": transforms.Compose([
            transforms.RandomResizedCrop(224),
            transforms.RandomHorizontalFlip(),
            transforms.ColorJitter(0.2, 0.2, 0.2, 0.1),
            transforms.ToTensor(),
            normalize,
        ]),
        "eval": transforms.Compose([
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            normalize,
        ]),
    }
    for name, transform in pipelines.items():
        dataset = datasets.ImageFolder(f"{args.root}/train", transform=transform)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers,
            drop_last=True, persistent_workers=args.workers > 0)
        for i, _ in enumerate(loader):
            if i == 3:
                break
        start, images = time.perf_counter(), 0
        for _ in range(args.epochs):
            for batch, _ in loader:
                images += batch.shape[0]
        rate = images / (time.perf_counter() - start)
        print(json.dumps({"impl": "torchvision", "pipeline": name, "workers": args.workers,
                          "images": len(dataset), "images_per_s": round(rate, 1)}))


if __name__ == "__main__":
    main()
