"""Model card: architecture, parameters, training curves, protocol and results vs the paper."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import figures, resources, tables, widgets, wording

__all__ = ["render"]


def render() -> None:
    st.title("Model card")
    ckpt_name = widgets.checkpoint_or_stop()
    try:
        card = resources.card(ckpt_name)
    except resources.CheckpointError as e:
        st.error(f"The card of **{ckpt_name}** cannot be read: {e}")
        st.stop()
    _summary(ckpt_name, card)
    _training(card)
    _protocol(card.get("protocol"))
    _results()
    _seed_study(ckpt_name, card)
    _recipe_study(ckpt_name)


def _settings_table(section: dict) -> pd.DataFrame:
    """A card's config section as a two-column table with readable names and values."""
    return pd.DataFrame(wording.settings(section), columns=["setting", "value"])


def _summary(ckpt_name: str, card: dict) -> None:
    dataset = card.get("dataset") or {}
    config = card.get("config") or {}
    st.caption(f"Checkpoint **{ckpt_name}** · trained on "
               f"{wording.dataset_label(dataset.get('name', '?'))} · "
               f"{card.get('date', 'date unknown')} · code "
               f"{str(card.get('code_commit', 'unknown'))[:12]}")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Parameters", f"{card.get('parameters', 0):,}")
    m2.metric("Classes", len(card.get("classes", [])))
    m3.metric("Networks", card.get("networks", 1),
              help="More than one when the checkpoint holds one network per cross-validation fold.")
    m4.metric("Attention warps", "feature maps" if config.get("layout", "paper") == "paper"
              else "input image",
              help="What the spatial transformer's affine warp moves: the feature maps, as in "
                   "the paper, or the input image, a common variant.")
    st.subheader("Architecture")
    # Drawn at a fixed width where every box's label fits (figures.DIAGRAM_LINE); a narrower
    # screen scrolls it sideways instead of piling the labels on one another.
    st.html(f"<style>.st-key-arch_box {{overflow-x: auto;}} .st-key-arch_box .stElementContainer "
            f"{{min-width: {figures.DIAGRAM_WIDTH}px;}}</style>")
    with st.container(key="arch_box"):
        st.plotly_chart(figures.architecture_diagram(config), key="arch_fig",
                        width=figures.DIAGRAM_WIDTH, config=figures.PLOTLY_CONFIG)
    with st.expander("Network and preprocessing settings"):
        st.markdown("**Classes:** " + ", ".join(card.get("classes", [])))
        st.dataframe(_settings_table({**config, **(card.get("preprocessing") or {})}),
                     hide_index=True)


def _training(card: dict) -> None:
    st.subheader("Training")
    history = card.get("history") or []
    if history and all("epochs" in h for h in history):  # cross-validation: one history per fold
        folds = {h.get("fold", str(i)): h for i, h in enumerate(history)}
        fold = st.selectbox("Fold", list(folds), key="history_fold")
        st.caption(f"Best epoch of {fold}: {folds[fold].get('best_epoch', '?')}")
        history = folds[fold]["epochs"]
    if history:
        st.plotly_chart(figures.training_curves(history), key="history_fig", config=figures.PLOTLY_CONFIG)
    else:
        st.info("This card has no training history (per-epoch loss and accuracy).")
    training = card.get("training")
    if training:
        with st.expander("Training settings"):
            st.dataframe(_settings_table(training), hide_index=True)


def _protocol(protocol) -> None:
    st.subheader("Protocol")
    if not isinstance(protocol, dict):
        st.info("The card does not record its evaluation protocol.")
        return
    st.markdown(f"**{protocol.get('name', '?')}**" +
                (f": {protocol['description']}" if protocol.get("description") else ""))
    if protocol.get("selection"):
        st.markdown(f"Model selection: {protocol['selection']}.")
    sizes = protocol.get("split_sizes")
    if sizes:
        st.dataframe(tables.split_sizes_table(sizes, protocol.get("folds")))
    with st.expander("The protocol as recorded in the card"):
        st.json(protocol, expanded=False)


def _results() -> None:
    st.subheader("Results beside the paper")
    cards = {}
    for name in resources.checkpoint_names():
        try:
            cards[name] = resources.card(name)
        except resources.CheckpointError:
            continue
    results = tables.results_table(cards)
    if results.empty:
        st.info("No card has metrics yet: run `deep-emotion evaluate NAME`.")
        return
    # Two decimals, as in the README: with one, 97.96% on CK+ would read as the paper's 98.0%.
    formats = {c: "{:.2%}" for c in (*tables.TTA_COLUMNS.values(), "paper", "± std")}
    formats["Δ vs paper"] = "{:+.2%}"
    st.dataframe(results.style.format({k: v for k, v in formats.items() if k in results},
                                      na_rep="—"), hide_index=True, placeholder="—")
    st.caption("Test accuracy of every shipped checkpoint; ± std is the spread over "
               "cross-validation folds. Paper: Minaee & Abdolrashidi, *Deep-Emotion* (Sensors "
               "2021): FER2013 70.02%, FERG 99.3%, JAFFE 92.8%, CK+ 98.0%; FER+ is not reported "
               "there. The paper's splits for JAFFE and CK+ are not published, so those rows "
               "compare protocols, not only models.")


def _seed_study(ckpt_name: str, card: dict) -> None:
    study = resources.seed_study(ckpt_name)
    if not study:
        return
    st.subheader("Over training seeds")
    mine = next(r for r in study["runs"] if r["weights_sha256"] == card.get("weights_sha256"))
    chosen = next(r for r in study["runs"] if r["name"] == study["selected"])
    st.dataframe(tables.seed_study_table(study).style.format(
        {"validation": "{:.2%}", "test": "{:.2%}", "validation loss": "{:.4f}"}, na_rep="—"),
        hide_index=True)
    which = (f"This checkpoint is seed {mine['seed']}, the one chosen by validation alone "
             "(accuracy, then loss); the test column played no part." if mine is chosen else
             f"This checkpoint is seed {mine['seed']}; validation alone (accuracy, then loss) "
             f"would choose seed {chosen['seed']}.")
    st.caption(f"The same recipe trained with {len(study['runs'])} seeds on this checkpoint's "
               f"split scores {study['mean']:.2%} ± {study['std']:.2%} on test. {which} The "
               "spread, not one run, says how close a recipe is to the paper, and how large a "
               "difference between two recipes one run of each can show.")


def _recipe_study(ckpt_name: str) -> None:
    recipes = resources.recipe_study(ckpt_name)
    if not recipes:
        return
    st.subheader("How the recipe was chosen")
    st.dataframe(tables.recipe_study_table(recipes).style.format(
        {c: "{:.2%}" for c in ("held-out", "fold mean", "± std", "macro-F1")}), hide_index=True)
    margin = (f" Once it shipped, a new recipe could replace it only by getting at least "
              f"{recipes['margin_faces'] + 1} more held-out faces right: a smaller lead is what "
              "chance alone often gives." if recipes["margin_faces"] else "")
    st.caption(f"Each recipe was trained by {recipes['folds']}-fold cross-validation over this "
               "split's training and validation faces and scored on the held-out folds; the "
               "test faces were never used. The most held-out faces right chose the recipe (a "
               "tie keeps the one shipped before), and this checkpoint was trained with it."
               + margin)
