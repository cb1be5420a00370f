//! CloudWatch lays widgets on a grid 24 columns wide. Widgets flow left to right and wrap.

pub const COLUMNS: u32 = 24;

#[derive(Debug, Default)]
pub struct Grid {
    x: u32,
    y: u32,
    row_height: u32,
}

impl Grid {
    /// Where the next widget of this size goes; starts a new row when it does not fit.
    pub fn place(&mut self, width: u32, height: u32) -> (u32, u32) {
        let width = width.min(COLUMNS);
        if self.x + width > COLUMNS {
            self.new_row();
        }
        let at = (self.x, self.y);
        self.x += width;
        self.row_height = self.row_height.max(height);
        at
    }

    /// Ends the current row (a section break).
    pub fn new_row(&mut self) {
        if self.x > 0 {
            self.y += self.row_height;
            self.x = 0;
            self.row_height = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widgets_flow_and_wrap_within_24_columns() {
        let mut g = Grid::default();
        assert_eq!(g.place(12, 6), (0, 0));
        assert_eq!(g.place(12, 4), (12, 0));
        assert_eq!(g.place(8, 3), (0, 6));
        g.new_row();
        assert_eq!(g.place(30, 2), (0, 9), "too wide is clamped to the grid");
    }
}
