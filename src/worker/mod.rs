pub mod diagnosis;
