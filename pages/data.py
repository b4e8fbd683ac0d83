"""Data page: sample grid with labels, class histogram, pixel statistics, mean image per class."""

import streamlit as st

from core.data.folder import folder_version, import_folder, load_folder, parse_folder_spec
from core.data.registry import dataset_info, folder_spec, list_datasets, load_dataset
from core.data.stats import class_counts, mean_images, pixel_statistics, sample_indices
from core.data.types import DatasetError
from dashboard.image_figures import class_histogram, thumbnail

GRID_SIZE = 24
SPLITS = {
    "train": ("x_train", "y_train"),
    "validation": ("x_val", "y_val"),
    "test": ("x_test", "y_test"),
}


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset ...")
def cached_dataset(name: str, version: str = ""):
    """Shared by all sessions; arrays are read-only for pages. `version` changes when a
    folder's files change, so an edited folder is read again."""
    spec = folder_spec(name)
    if spec is not None:
        return load_folder(spec, name)  # not the per-process lru_cache
    return load_dataset(name)


def import_with_progress(name: str) -> str:
    """First use of a folder in this session: import it with a progress bar. The import leaves
    a decoded cache on disk, so the cached load that follows is quick."""

    done = st.session_state.setdefault("imported-folders", set())
    spec = folder_spec(name)
    version = folder_version(spec)
    if (name, version) in done:
        return version
    bar = st.progress(0.0, text="Listing images ...")

    def show(count: int, total: int) -> None:
        bar.progress(count / max(total, 1), text=f"Importing images: {count:,} of {total:,}")

    path, size, channels = parse_folder_spec(spec)
    try:
        import_folder(path, size, channels, progress=show, name=name)
    finally:
        bar.empty()
    done.add((name, version))
    return version


@st.cache_data(max_entries=16, show_spinner="Computing statistics ...")
def split_summary(name: str, version: str, split: str, _data):
    """Keyed by dataset name and split; _data (not hashed) is the loaded dataset."""
    data = _data
    x, y = (getattr(data, a) for a in SPLITS[split])
    n = data.info.num_classes
    return class_counts(y, n), pixel_statistics(x), mean_images(x, y, n)


st.title("Data")
names = [d.name for d in list_datasets()]
choice = st.selectbox(
    "Dataset",
    [*names, "Your data ...", "A seismic file ..."],
    index=names.index(st.query_params.get("dataset", names[0]))
    if st.query_params.get("dataset") in names
    else 0,
)
if choice in ("Your data ...", "A seismic file ..."):
    st.query_params.pop("dataset", None)
if choice == "A seismic file ...":
    from dashboard.waveform_views import render_waveform_file

    render_waveform_file()
    st.stop()
if choice == "Your data ...":
    name = st.text_input(
        "Source",
        placeholder="folder:pets@64  ·  npz:arrays.npz  ·  tfrecord:export/train-*  ·  "
        "phasenet:my_npz_folder  ·  tfrecord-waveform:export/*.tfrecord",
        help="Paths are relative to the data root; nothing outside it can be opened.",
    ).strip()
    if not name:
        st.stop()
else:
    name = choice
    st.query_params["dataset"] = name

try:
    if dataset_info(name).kind == "waveform":
        from dashboard.waveform_views import render_waveform_data

        render_waveform_data(name)
        st.stop()
    version = import_with_progress(name) if folder_spec(name) is not None else ""
    data = cached_dataset(name, version)
except DatasetError as err:
    st.error(str(err))
    st.stop()

info = data.info
st.caption(info.description)
sizes = data.split_sizes()
for col, (split_name, size) in zip(
    st.columns(len(sizes) + 1), [*sizes.items(), ("classes", None)], strict=True
):
    col.metric(split_name, f"{size:,}" if size is not None else info.num_classes)
report = getattr(data, "report", None)
if report is not None and getattr(report, "skipped", None):
    with st.expander(f"{len(report.skipped)} file(s) skipped during import"):
        st.dataframe([{"file": str(f), "reason": r} for f, r in report.skipped], hide_index=True)

split = st.radio("Split", list(SPLITS), horizontal=True)
x, y = (getattr(data, a) for a in SPLITS[split])
if len(y) == 0:
    st.info(f"The {split} split is empty.")
    st.stop()
counts, stats, means = split_summary(name, version, split, data)

grid_tab, stats_tab, mean_tab = st.tabs(["Samples", "Statistics", "Mean image per class"])
with grid_tab:
    left, right = st.columns([3, 1])
    wanted = left.multiselect("Show classes", list(info.class_names), placeholder="all classes")
    seed = right.number_input("Sample seed", 0, 10_000, 0)
    class_ids = [info.class_names.index(c) for c in wanted]
    idx = sample_indices(y, GRID_SIZE, int(seed), classes=class_ids)
    if len(idx) == 0:
        st.info("No images of these classes in this split.")
    else:
        st.image(
            [thumbnail(x[i]) for i in idx],
            width=96,
            caption=[f"{info.class_names[int(y[i])]} · #{i}" for i in idx],
        )
with stats_tab:
    st.plotly_chart(class_histogram(counts, list(info.class_names)))
    channels = ["gray"] if stats["channels"] == 1 else ["red", "green", "blue"][: stats["channels"]]
    st.markdown(
        f"**{stats['images']:,} images**, {stats['height']}x{stats['width']} pixels, "
        f"{stats['channels']} channel(s), {stats['dtype']}; pixel statistics over "
        f"{stats['sampled']:,} sampled images."
    )
    st.dataframe(
        [
            {
                "channel": c,
                "min": stats["min"][i],
                "max": stats["max"][i],
                "mean": stats["mean"][i],
                "std": stats["std"][i],
            }
            for i, c in enumerate(channels)
        ],
        hide_index=True,
    )
with mean_tab:
    present = [c for c in range(info.num_classes) if counts[c] > 0]
    st.image(
        [thumbnail(means[c]) for c in present],
        width=96,
        caption=[f"{info.class_names[c]} (n={counts[c]:,})" for c in present],
    )
    st.caption("Mean over up to 500 images per class.")
