"""The try-on GAN's networks: a small U-Net generator and a PatchGAN discriminator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

IN_CHANNELS = 5  # composite RGB, garment mask, luminance detail


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.2)
    )


class Generator(nn.Module):
    """U-Net over 4 downsamplings (H and W must be multiples of 16). The full-resolution level
    has one convolution each way (most of the cost sits there). Its output is the composite
    plus a learned residual, so an untrained or unsure generator returns the composite."""

    def __init__(self, widths=(12, 24, 48, 64, 96)) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(IN_CHANNELS, widths[0], 3, padding=1), nn.LeakyReLU(0.2))
        self.down = nn.ModuleList()
        self.enc = nn.ModuleList()
        for cin, cout in zip(widths[:-1], widths[1:]):
            self.down.append(nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.2)))
            self.enc.append(block(cout, cout))
        self.dec = nn.ModuleList(block(deep + skip, skip) for deep, skip in zip(widths[:1:-1], widths[-2:0:-1]))
        self.last = nn.Sequential(nn.Conv2d(widths[1] + widths[0], widths[0], 3, padding=1), nn.LeakyReLU(0.2))
        self.head = nn.Conv2d(widths[0], 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, composite: torch.Tensor, mask: torch.Tensor, detail: torch.Tensor) -> torch.Tensor:
        x = self.stem(torch.cat([composite, mask, detail], 1))
        skips = [x]
        for down, enc in zip(self.down, self.enc):
            x = enc(down(x))
            skips.append(x)
        skips.pop()
        for dec in [*self.dec, self.last]:
            skip = skips.pop()
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], 1))
        return torch.clamp(composite + self.head(x), -1.0, 1.0)


class Discriminator(nn.Module):
    """Conditional PatchGAN: judges (generator inputs, image) pairs on ~34-pixel patches and
    returns its intermediate features too, for the feature-matching loss."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        chans = [IN_CHANNELS + 3, width, width * 2, width * 4]
        self.layers = nn.ModuleList(
            nn.Sequential(sn(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2))
            for cin, cout in zip(chans[:-1], chans[1:])
        )
        self.out = sn(nn.Conv2d(chans[-1], 1, 3, padding=1))

    def forward(self, condition: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = torch.cat([condition, image], 1)
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return self.out(x), feats


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
