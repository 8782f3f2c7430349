//! What every plot shares: size, the embedded font, one colour and marker
//! per backend, and how numbers read on the axes.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// Width of every plot, pixels (PNG) or user units (SVG).
pub(super) const WIDTH: u32 = 800;
/// Height of every plot.
pub(super) const HEIGHT: u32 = 600;

/// The font family every text uses. The SVG files name it, so a browser
/// draws them with its own sans-serif; PNGs use the embedded DejaVu Sans.
pub(super) const FONT: &str = "sans-serif";
/// Title, axis descriptions, tick labels, legend and caption sizes, pixels.
pub(super) const TITLE_SIZE: f64 = 24.0;
pub(super) const DESC_SIZE: f64 = 19.0;
pub(super) const LABEL_SIZE: f64 = 16.0;
pub(super) const LEGEND_SIZE: f64 = 16.0;
pub(super) const CAPTION_SIZE: f64 = 14.0;
/// Stroke width of data lines; axes and error bars use [`THIN`].
pub(super) const LINE: u32 = 3;
pub(super) const THIN: u32 = 2;
/// Marker radius, pixels.
pub(super) const MARKER: i32 = 5;

/// Axis lines and text.
pub(super) const INK: RGBColor = RGBColor(0x20, 0x20, 0x20);
/// The caption and other secondary text.
pub(super) const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// The ideal line (y = p, 100 %).
pub(super) const IDEAL: RGBColor = RGBColor(0x99, 0x99, 0x99);
/// The grid.
pub(super) const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);

/// DejaVu Sans 2.37 (see `harness/assets/DejaVuSans-LICENSE.txt`):
/// embedded so that drawing a PNG needs no system font at run time.
static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// Registers the embedded font as [`FONT`], once per process.
pub(super) fn register_fonts() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded plot font cannot be read"))
    }
}

/// A text style of `size` pixels in `colour`.
pub(super) fn text(size: f64, colour: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(colour)
}

/// Colours of the library's backends, in `piscale list` order. From the
/// Okabe–Ito palette, which colour-blind readers can tell apart.
const LIBRARY: [(&str, RGBColor, Shape); 7] = [
    ("serial", RGBColor(0x00, 0x00, 0x00), Shape::Circle),
    ("threads", RGBColor(0x00, 0x72, 0xB2), Shape::Square),
    ("rayon", RGBColor(0x00, 0x9E, 0x73), Shape::Triangle),
    ("fork-pipe", RGBColor(0xD5, 0x5E, 0x00), Shape::Diamond),
    (
        "shm-reduce",
        RGBColor(0xCC, 0x79, 0xA7),
        Shape::TriangleDown,
    ),
    ("pool-map", RGBColor(0xE6, 0x9F, 0x00), Shape::Circle),
    ("per-core", RGBColor(0x56, 0xB4, 0xE9), Shape::Square),
];

/// Colours of command kernels, taken in the order of their names.
const COMMANDS: [RGBColor; 6] = [
    RGBColor(0x8C, 0x56, 0x4B),
    RGBColor(0x6A, 0x3D, 0x9A),
    RGBColor(0x7F, 0x7F, 0x7F),
    RGBColor(0x9E, 0x1B, 0x32),
    RGBColor(0x11, 0x8F, 0x9C),
    RGBColor(0x8A, 0x8A, 0x10),
];

/// Colours of the phases in the stacked bars.
pub(super) const SPAWN: RGBColor = RGBColor(0xE1, 0x57, 0x59);
pub(super) const COMPUTE: RGBColor = RGBColor(0x4E, 0x79, 0xA7);
pub(super) const REDUCE: RGBColor = RGBColor(0xED, 0xC9, 0x48);

/// A marker shape: colour tells the backends apart on screen, the shape in
/// grey print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
    TriangleDown,
}

/// Fixed colours and markers, one per backend: the same in every plot of a
/// folder. A library backend always has its own colour; command kernels
/// take the further colours in the order of their names.
#[derive(Debug, Clone)]
pub(super) struct Palette {
    commands: Vec<String>,
}

impl Palette {
    /// A palette for a folder whose rows name `backends`.
    pub(super) fn new<'a>(backends: impl IntoIterator<Item = &'a str>) -> Palette {
        let mut commands: Vec<String> = backends
            .into_iter()
            .filter(|b| !LIBRARY.iter().any(|(name, ..)| name == b))
            .map(str::to_string)
            .collect();
        commands.sort();
        commands.dedup();
        Palette { commands }
    }

    /// The colour of `backend`.
    pub(super) fn colour(&self, backend: &str) -> RGBColor {
        if let Some((_, colour, _)) = LIBRARY.iter().find(|(name, ..)| *name == backend) {
            return *colour;
        }
        let i = self.command_index(backend);
        COMMANDS[i % COMMANDS.len()]
    }

    /// The marker of `backend`.
    pub(super) fn shape(&self, backend: &str) -> Shape {
        if let Some((.., shape)) = LIBRARY.iter().find(|(name, ..)| *name == backend) {
            return *shape;
        }
        const SHAPES: [Shape; 5] = [
            Shape::Diamond,
            Shape::Triangle,
            Shape::Square,
            Shape::TriangleDown,
            Shape::Circle,
        ];
        SHAPES[self.command_index(backend) % SHAPES.len()]
    }

    fn command_index(&self, backend: &str) -> usize {
        self.commands
            .iter()
            .position(|c| c == backend)
            .unwrap_or(self.commands.len())
    }
}

/// A unit for times around `max_s` seconds: the name and the factor from seconds.
pub(super) fn time_unit(max_s: f64) -> (&'static str, f64) {
    if max_s >= 1.0 {
        ("s", 1.0)
    } else if max_s >= 1e-3 {
        ("ms", 1e3)
    } else if max_s >= 1e-6 {
        ("µs", 1e6)
    } else {
        ("ns", 1e9)
    }
}

/// A tick label: three significant digits at most, no trailing zeros
/// (`0.25`, `1`, `12.5`, `300`).
pub(super) fn tick(v: &f64) -> String {
    let v = *v;
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub(super) use crate::sweep::table::work;

#[cfg(test)]
mod tests {
    use super::*;
    use piscale_kernels::BackendKind;

    #[test]
    fn every_library_backend_has_its_own_colour() {
        let palette = Palette::new(["python-pi1", "a-command"]);
        let mut colours: Vec<RGBColor> = BackendKind::ALL
            .iter()
            .map(|b| palette.colour(b.name()))
            .collect();
        colours.push(palette.colour("a-command"));
        colours.push(palette.colour("python-pi1"));
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b, "two backends share a colour");
            }
        }
        // Commands take colours by name, whatever order they come in.
        let other = Palette::new(["a-command", "python-pi1", "serial"]);
        assert_eq!(other.colour("python-pi1"), palette.colour("python-pi1"));
    }

    #[test]
    fn ticks_read_as_people_write_them() {
        assert_eq!(tick(&0.0), "0");
        assert_eq!(tick(&0.25), "0.25");
        assert_eq!(tick(&1.0), "1");
        assert_eq!(tick(&1.5), "1.5");
        assert_eq!(tick(&12.5), "12.5");
        assert_eq!(tick(&300.0), "300");
        assert_eq!(tick(&0.002), "0.002");
        assert_eq!(tick(&2.0000000001), "2");
    }

    #[test]
    fn time_units_follow_the_size() {
        assert_eq!(time_unit(2.0).0, "s");
        assert_eq!(time_unit(0.02).0, "ms");
        assert_eq!(time_unit(2e-5).0, "µs");
        assert_eq!(time_unit(2e-8).0, "ns");
    }
}
