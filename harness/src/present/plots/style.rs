//! What every plot shares: size, the embedded font, one colour and marker
//! per backend, and how numbers read on the axes.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use piscale_kernels::BackendKind;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use strum::VariantArray;

use crate::results::Kernel;

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
/// The capacity C(p), what the CPUs can give: a dashed line darker than
/// the ideal, and no backend's colour.
pub(super) const CAPACITY: RGBColor = RGBColor(0x60, 0x60, 0x60);
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

/// Colours and markers of the built-in kernels, in display order (the
/// library's backends as `piscale list` shows them, then mpi): the first
/// eight from the Okabe–Ito palette, which colour-blind readers can tell
/// apart. A kernel added to the library takes the next entry; a build with
/// more built-in kernels than entries does not compile.
const BUILTIN: [(RGBColor, Shape); 12] = [
    (RGBColor(0x00, 0x00, 0x00), Shape::Circle),
    (RGBColor(0x00, 0x72, 0xB2), Shape::Square),
    (RGBColor(0x00, 0x9E, 0x73), Shape::Triangle),
    (RGBColor(0xD5, 0x5E, 0x00), Shape::Diamond),
    (RGBColor(0xCC, 0x79, 0xA7), Shape::TriangleDown),
    (RGBColor(0xE6, 0x9F, 0x00), Shape::Circle),
    (RGBColor(0x56, 0xB4, 0xE9), Shape::Square),
    (RGBColor(0xF0, 0xE4, 0x42), Shape::Triangle),
    (RGBColor(0x33, 0x22, 0x88), Shape::Diamond),
    (RGBColor(0x88, 0x22, 0x55), Shape::TriangleDown),
    (RGBColor(0x44, 0xAA, 0x99), Shape::Circle),
    (RGBColor(0xAA, 0x44, 0x99), Shape::Square),
];

// Every built-in kernel (the library's backends and mpi) has an entry.
const _: () = assert!(BackendKind::VARIANTS.len() < BUILTIN.len());

/// Colours of command kernels, taken in the order of their names.
const COMMANDS: [RGBColor; 6] = [
    RGBColor(0x8C, 0x56, 0x4B),
    RGBColor(0x6A, 0x3D, 0x9A),
    RGBColor(0x7C, 0xAE, 0x00),
    RGBColor(0x9E, 0x1B, 0x32),
    RGBColor(0x11, 0x8F, 0x9C),
    RGBColor(0x8A, 0x8A, 0x10),
];

/// Colours of the phases in the stacked bars.
pub(super) const SPAWN: RGBColor = RGBColor(0xE1, 0x57, 0x59);
pub(super) const COMPUTE: RGBColor = RGBColor(0x4E, 0x79, 0xA7);
pub(super) const REDUCE: RGBColor = RGBColor(0xED, 0xC9, 0x48);

/// Colours of where the speed-up went (`breakdown-M`): the speed-up
/// reached and each loss, from Paul Tol's "bright" scheme, which
/// colour-blind readers can tell apart. The machine's loss is grey, like
/// the capacity line.
pub(super) const ACHIEVED: RGBColor = RGBColor(0x44, 0x77, 0xAA);
pub(super) const LOST_OVERHEAD: RGBColor = RGBColor(0xEE, 0x66, 0x77);
pub(super) const LOST_IMBALANCE: RGBColor = RGBColor(0xCC, 0xBB, 0x44);
pub(super) const LOST_CODE: RGBColor = RGBColor(0xAA, 0x33, 0x77);
pub(super) const LOST_MACHINE: RGBColor = RGBColor(0xBB, 0xBB, 0xBB);
/// Code, imbalance and overhead together, for a kernel whose workers'
/// busy times are not known (a command).
pub(super) const LOST_UNSPLIT: RGBColor = RGBColor(0x66, 0xCC, 0xEE);

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

/// Fixed colours and markers, one per kernel: the same in every plot of a
/// folder. A built-in kernel always has its own colour, the capacity its
/// grey ([`CAPACITY`]); command kernels take the further colours in the
/// order of their names.
#[derive(Debug, Clone)]
pub(super) struct Palette {
    commands: Vec<String>,
}

impl Palette {
    /// A palette for a folder whose rows name `kernels`.
    pub(super) fn new<'a>(kernels: impl IntoIterator<Item = &'a Kernel>) -> Palette {
        let mut commands: Vec<String> = kernels
            .into_iter()
            .filter(|k| !k.is_builtin())
            .map(|k| k.name().to_string())
            .collect();
        commands.sort();
        commands.dedup();
        Palette { commands }
    }

    /// The colour of `kernel`.
    pub(super) fn colour(&self, kernel: &Kernel) -> RGBColor {
        if *kernel == Kernel::Capacity {
            return CAPACITY;
        }
        match builtin_index(kernel) {
            Some(i) => BUILTIN[i].0,
            None => COMMANDS[self.command_index(kernel) % COMMANDS.len()],
        }
    }

    /// The marker of `kernel`.
    pub(super) fn shape(&self, kernel: &Kernel) -> Shape {
        if let Some(i) = builtin_index(kernel) {
            // The same backend started another way: its colour, the next
            // marker, so that `fork-pipe (spawn)` stands apart from it.
            let step = kernel.start().map_or(0, |s| s as usize);
            return BUILTIN[(i + step) % BUILTIN.len()].1;
        }
        if *kernel == Kernel::Capacity {
            // Drawn as a line without markers; a shape for completeness.
            return Shape::Circle;
        }
        const SHAPES: [Shape; 5] = [
            Shape::Diamond,
            Shape::Triangle,
            Shape::Square,
            Shape::TriangleDown,
            Shape::Circle,
        ];
        SHAPES[self.command_index(kernel) % SHAPES.len()]
    }

    fn command_index(&self, kernel: &Kernel) -> usize {
        self.commands
            .iter()
            .position(|c| c == kernel.name())
            .unwrap_or(self.commands.len())
    }
}

/// The place of a built-in kernel in display order.
/// Its entry in [`BUILTIN`]: its backend's, whatever its start method.
fn builtin_index(kernel: &Kernel) -> Option<usize> {
    Kernel::builtins().position(|k| kernel.is_builtin() && k.name() == kernel.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_kernel_and_the_capacity_have_their_own_colour() {
        let pi1 = Kernel::Command("python-pi1".into());
        let other = Kernel::Command("a-command".into());
        let palette = Palette::new([&pi1, &other]);
        let mut colours: Vec<RGBColor> = Kernel::builtins().map(|k| palette.colour(&k)).collect();
        colours.push(palette.colour(&other));
        colours.push(palette.colour(&pi1));
        colours.push(palette.colour(&Kernel::Capacity));
        colours.push(IDEAL);
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b, "two kernels share a colour");
            }
        }
        // Commands take colours by name, whatever order they come in.
        let serial = Kernel::local(BackendKind::Serial);
        let again = Palette::new([&other, &pi1, &serial]);
        assert_eq!(again.colour(&pi1), palette.colour(&pi1));
        // The capacity is no command: it takes none of their colours.
        let with_capacity = Palette::new([&other, &pi1, &Kernel::Capacity]);
        assert_eq!(with_capacity.colour(&pi1), palette.colour(&pi1));
        assert_eq!(with_capacity.colour(&Kernel::Capacity), CAPACITY);
        // Every command colour differs from the capacity's and the ideal's.
        for c in COMMANDS {
            assert!(c != CAPACITY && c != IDEAL);
        }
    }
}
