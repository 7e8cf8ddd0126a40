//! The manual page of a program, made from the clap definitions its `--help`
//! shows; both binaries print it (`classchat man`, `classchat-server man`).
//! Behind the `manual` feature, so the protocol alone needs no clap.

/// One man page for the program and its commands, from the clap definitions
/// `--help` shows: clap_mangen's sections for the program, then each command
/// with its own arguments (where clap_mangen would point at a page per command).
pub fn man_page(cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    use clap_mangen::roff::{Roff, bold, roman};
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut commands = Roff::new();
    commands.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands() {
        commands.control("TP", []);
        commands.text([bold(format!("{} {}", cmd.get_name(), sub.get_name()))]);
        commands.text([roman(
            sub.get_about().map(ToString::to_string).unwrap_or_default(),
        )]);
    }
    commands.to_writer(&mut page)?;
    for sub in cmd.get_subcommands() {
        // Headed by the command's name, its arguments get a section of their own.
        let heading = format!("{} {}", cmd.get_name(), sub.get_name());
        let sub = sub
            .clone()
            .disable_help_flag(true)
            .mut_args(|arg| arg.help_heading(heading.clone()));
        clap_mangen::Man::new(sub).render_options_section(&mut page)?;
    }
    man.render_version_section(&mut page)?;
    Ok(page)
}
