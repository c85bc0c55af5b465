/// Neural: tensors, reverse-mode autodiff and the modules of CS229's deep-learning chapter.
public enum Neural {
    /// The library version.
    public static let version = "0.1.0"
}
