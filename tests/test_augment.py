"""Batched augmentation: shapes kept, no-op when disabled, randomness per image and seeded."""

import torch

from deep_emotion.augment import AugmentConfig, augment_batch

OFF = AugmentConfig(flip=0, rotate_deg=0, scale=(1.0, 1.0), shift_px=0, erase=0)


def test_a_disabled_config_returns_the_batch_unchanged():
    x = torch.randn(4, 1, 48, 48)
    assert torch.allclose(augment_batch(x, OFF), x)


def test_a_certain_flip_mirrors_every_image():
    x = torch.randn(3, 1, 48, 48)
    flipped = augment_batch(x, AugmentConfig(flip=1.0, rotate_deg=0, scale=(1, 1), shift_px=0, erase=0))
    assert torch.allclose(flipped, x.flip(-1), atol=1e-5)


def centre_of_mass(x: torch.Tensor) -> torch.Tensor:
    """(B, 2) row and column of each image's centre of mass, in pixels."""
    grid = torch.arange(x.shape[-1], dtype=x.dtype)
    mass = x.sum((1, 2, 3))
    return torch.stack([(x.sum((1, 3)) * grid).sum(1) / mass,
                        (x.sum((1, 2)) * grid).sum(1) / mass], 1)


def test_a_shift_moves_content_by_up_to_that_many_pixels_on_both_axes():
    # one bright pixel per image; bilinear resampling spreads it but keeps its centre of mass
    # exactly where the shift puts it, so the centre's displacement is the drawn shift
    x = torch.zeros(64, 1, 48, 48)
    x[:, 0, 20, 20] = 1.0
    cfg = AugmentConfig(flip=0, rotate_deg=0, scale=(1, 1), shift_px=4, erase=0)
    out = augment_batch(x, cfg, torch.Generator().manual_seed(1))
    torch.testing.assert_close(out.sum((1, 2, 3)), torch.ones(64))  # moved, not lost
    moved = centre_of_mass(out) - torch.tensor([20.0, 20.0])  # (64, 2) rows, columns
    assert moved.abs().max() <= 4 + 1e-4
    for axis in (0, 1):  # each axis draws its own shift from U(-4, 4)
        assert moved[:, axis].min() < -3 and moved[:, axis].max() > 3
        assert moved[:, axis].std() > 1.5
    assert abs(float(torch.corrcoef(moved.T)[0, 1])) < 0.5


def test_each_image_gets_its_own_draw_and_a_seeded_generator_repeats_it():
    x = torch.randn(1, 1, 48, 48).expand(8, 1, 48, 48).contiguous()
    a = augment_batch(x, AugmentConfig(), torch.Generator().manual_seed(3))
    b = augment_batch(x, AugmentConfig(), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.allclose(a[0], a[1])


def test_erasing_only_changes_a_box_within_the_configured_area():
    x = torch.zeros(16, 1, 48, 48)
    cfg = AugmentConfig(flip=0, rotate_deg=0, scale=(1, 1), shift_px=0, erase=1.0,
                        erase_area=(0.1, 0.1), erase_ratio=(1.0, 1.0))
    out = augment_batch(x, cfg, torch.Generator().manual_seed(0))
    changed = (out != 0).flatten(1).sum(1).float() / (48 * 48)
    assert ((changed > 0.05) & (changed <= 0.1)).all()


def test_config_round_trips_through_a_dict():
    cfg = AugmentConfig(scale=(0.8, 1.2), erase=0.0)
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg
