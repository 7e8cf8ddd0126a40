//! The input bar: the open conversation's draft (or the lobby's, for commands).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Block;

use crate::layout;
use crate::model::{Focus, Model};
use crate::theme::Theme;

pub fn render(model: &Model, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let selecting = matches!(model.focus, Focus::Messages(_));
    let hint = if selecting {
        " ↑↓ move · i who read it · r retry · Esc back "
    } else if area.width >= 60 {
        " Enter send · Alt+Enter new line · Tab complete · F1 help "
    } else {
        " F1 help "
    };
    let block = Block::bordered()
        .title_bottom(Span::styled(hint, theme.hint))
        .border_style(if selecting {
            theme.border
        } else {
            theme.border_focused
        });
    frame.render_widget(block, area);
    frame.render_widget(model.input(), layout::inner(area));
}
